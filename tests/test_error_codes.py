"""The one table of error codes (``server/error_codes.py``, issue 12) against everything that lists
codes: the README's error table, the OpenAPI document, and the page's generated copy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from server.error_codes import CODES, JOB_CODES, PAGE_CODES_FILE, ErrorCode, main, page_module
from server.errors import DomainError, InvalidInput, NotFound
from server.jobs.errors import JobFailed
from server.openapi import build_document

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `(\w+)` \| ([^|]*) \|", re.MULTILINE)


def readme_table() -> dict[str, str]:
    """The README's "Error codes" table: code -> its status column."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Error codes\n", 1)[1].split("\n## ", 1)[0]
    return dict(ROW.findall(section))


def documented_answers(document: dict) -> dict[str, set[int]]:
    """Code -> the statuses of the operations' error answers that list it."""
    found: dict[str, set[int]] = {}
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                for part in schema.get("allOf", []):
                    for code in part.get("properties", {}).get("code", {}).get("enum", []):
                        found.setdefault(code, set()).add(int(status))
    return found


def test_error_codes_every_code_has_its_row():
    assert set(CODES) == set(ErrorCode)
    assert len({code.value for code in ErrorCode}) == len(ErrorCode)
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code.value) for code in ErrorCode)


def test_error_codes_are_their_strings():
    code = ErrorCode.CANCELLED
    assert code == "cancelled" and str(code) == "cancelled" and f"{code}" == "cancelled"
    assert json.dumps({"code": code}) == '{"code": "cancelled"}'
    assert ErrorCode("not_found") is ErrorCode.NOT_FOUND


def test_error_codes_readme_table_lists_exactly_these():
    table = readme_table()
    assert set(table) - {code.value for code in ErrorCode} == set(), "in the README, not in server/error_codes.py"
    assert {code.value for code in ErrorCode} - set(table) == set(), "in server/error_codes.py, not in the README"
    for code in ErrorCode:
        assert re.findall(r"\d{3}", table[code.value]) == [str(status) for status in code.info.statuses], code


def test_error_codes_openapi_lists_exactly_these():
    document = build_document()
    schemas = document["components"]["schemas"]
    listed = {entry["const"] for entry in schemas["ErrorCode"]["oneOf"]}
    assert listed == {code.value for code in ErrorCode}
    answers = documented_answers(document)
    job_codes = set(schemas["JobView"]["properties"]["error_code"]["anyOf"][0]["enum"])
    any_route = {code.value for code in ErrorCode if code.info.any_route}
    everywhere = set(answers) | job_codes | any_route
    assert everywhere - listed == set(), "documented, not in server/error_codes.py"
    assert listed - everywhere == set(), "in server/error_codes.py, documented nowhere"
    assert job_codes == {code.value for code in JOB_CODES}


def test_error_codes_openapi_answers_use_each_codes_statuses():
    answers = documented_answers(build_document())
    for code in ErrorCode:
        if code.info.any_route or not code.info.statuses:
            assert code.value not in answers or answers[code.value] <= set(code.info.statuses), code
            continue
        assert answers.get(code.value) == set(code.info.statuses), code


def test_error_codes_job_codes_have_messages_and_page_sentences():
    for code in JOB_CODES:
        assert code.job_error()
        page = code.info.job_page
        assert page is not None and page.en and page.he, code
        assert re.search("[\u0590-\u05ff]", page.he), code  # Hebrew letters, not a copy of the English


def test_error_codes_job_error_variants_and_refusals():
    assert ErrorCode.INVALID_OUTPUT.job_error("truncated") != ErrorCode.INVALID_OUTPUT.job_error()
    with pytest.raises(KeyError):
        ErrorCode.NOT_FOUND.job_error()
    assert JobFailed(ErrorCode.TIMEOUT).message == ErrorCode.TIMEOUT.job_error()
    assert JobFailed("custom_code", "Custom message").message == "Custom message"


def test_error_codes_domain_errors_need_a_code():
    assert NotFound("Case not found").code is ErrorCode.NOT_FOUND
    with pytest.raises(TypeError):
        InvalidInput("no code given")
    assert isinstance(InvalidInput("bad", code=ErrorCode.INVALID_LIMIT), DomainError)


def test_error_codes_page_copy_is_up_to_date():
    assert PAGE_CODES_FILE.read_text(encoding="utf-8") == page_module(), "run: python -m server.error_codes"
    assert main(["--check"]) == 0


def test_error_codes_page_js_has_no_code_literals():
    """The page compares codes through ERROR_CODES, never through string literals of its own."""
    values = {code.value for code in ErrorCode}
    for path in (ROOT / "server" / "static" / "js").glob("*.js"):
        if path == PAGE_CODES_FILE:
            continue
        literals = set(re.findall(r"'(\w+)'", path.read_text(encoding="utf-8")))
        assert not literals & values, (path.name, literals & values)
