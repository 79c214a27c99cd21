"""The page's message catalogue (static/js/strings.js) against what the server can send (issue 18):
both languages have the same keys, and every job ``error_code`` and ``progress_code`` the server
code can produce has a sentence in both. The codes are read from the server's source, so a new code
without a translation fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRINGS = ROOT / "static" / "js" / "strings.js"
KEY = re.compile(r"^\s*'([^']+)':", re.MULTILINE)


def catalogue() -> dict[str, set[str]]:
    text = STRINGS.read_text(encoding="utf-8")
    english, hebrew = text.split("\n  he: {", 1)
    return {"en": set(KEY.findall(english)), "he": set(KEY.findall(hebrew))}


def server_source() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "server").rglob("*.py"))


def job_error_codes() -> set[str]:
    """Codes a job can end with: ``JobFailed("code", ...)``, provider and runner message tables."""
    source = server_source()
    codes = set(re.findall(r"JobFailed\(\s*\"(\w+)\"", source))
    codes |= set(re.findall(r"ProviderError\(\s*\"(\w+)\"", source))
    for table in re.findall(r"_MESSAGES = \{(.*?)\n\}", source, re.DOTALL):
        codes |= set(re.findall(r"^\s*\"(\w+)\":", table, re.MULTILINE))
    return codes - {"truncated_output"}  # a message variant of invalid_output, not a code


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
