"""The page's message catalogue (server/static/js/strings.js, with the error-code sentences it takes from the
generated server/static/js/error-codes.js) against what the server can send (issue 18): both languages have
the same keys, and every job ``error_code`` (``server.error_codes``) and ``progress_code`` (read from
the server's source) has a sentence in both, so a new code without a translation fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.error_codes import JOB_CODES, page_strings

ROOT = Path(__file__).resolve().parents[2]
STRINGS = ROOT / "server" / "static" / "js" / "strings.js"
KEY = re.compile(r"^\s*'([^']+)':", re.MULTILINE)


def catalogue() -> dict[str, set[str]]:
    text = STRINGS.read_text(encoding="utf-8")
    english, hebrew = text.split("\n  he: {", 1)
    generated = page_strings()  # what error-codes.js holds (tests/test_error_codes.py: it is up to date)
    return {"en": set(KEY.findall(english)) | set(generated["en"]),
            "he": set(KEY.findall(hebrew)) | set(generated["he"])}


def server_source() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "server").rglob("*.py"))


def job_error_codes() -> set[str]:
    """Codes a job can end with (``server.error_codes.JOB_CODES``)."""
    return {code.value for code in JOB_CODES}


def progress_codes() -> set[str]:
    """Codes passed to ``progress(...)`` as the third argument, and the plan codes of the analyses."""
    source = server_source()
    nested = r"\((?:[^()]|\([^()]*\))*\)"  # arguments may hold calls two levels deep
    calls = re.findall(rf"(?:progress|_Plan)\((?:[^()]|{nested})*\)", source)
    # Messages are sentences; a code is a lone snake_case literal.
    codes = {code for call in calls for code in re.findall(r"\"([a-z]+(?:_[a-z]+)*)\"(?!\s*:)", call)}
    return codes | {"queued", "completed"}


def test_catalogue_languages_have_the_same_keys():
    keys = catalogue()
    assert keys["en"] - keys["he"] == set(), "missing in Hebrew"
    assert keys["he"] - keys["en"] - {k for k in keys["he"] if k.endswith(".two")} == set(), "missing in English"


def test_catalogue_server_codes_are_found():
    # Guards the source scan itself: these codes exist today.
    assert {"case_deleted", "no_transcript", "rate_limited", "timeout", "cancelled"} <= job_error_codes()
    assert {"loading_case", "reading_document", "filling_form", "model_writing", "offline_analysing"} \
        <= progress_codes()


@pytest.mark.parametrize("lang", ["en", "he"])
def test_catalogue_every_job_error_code_has_a_message(lang):
    missing = {code for code in job_error_codes() if f"jobError.{code}" not in catalogue()[lang]}
    assert not missing


@pytest.mark.parametrize("lang", ["en", "he"])
def test_catalogue_every_progress_code_has_a_message(lang):
    missing = {code for code in progress_codes() if f"progress.{code}" not in catalogue()[lang]}
    assert not missing
