"""Deterministic text extraction used by the offline analyzer (Hebrew and English).

Pure functions on strings; no randomness, no clock, so the same input gives the same output.
"""

from __future__ import annotations

import re
from datetime import date

# Sentences end at . ! ? (followed by space) or a line break; Hebrew uses the same punctuation.
# "Dr." does not end a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!Dr\.)(?<!dr\.)\s+|\n+")
# An amount with a shekel marker before or after it: "₪ 5,000", "5,000 ש\"ח", "3200 ILS", "NIS 900".
_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_CURRENCY = r"(?:₪|ש\"ח|ש״ח|שקלים|שקל|ILS|NIS|shekels?)"
_AMOUNT = re.compile(rf"{_CURRENCY}\s?{_NUMBER}|{_NUMBER}\s?{_CURRENCY}", re.IGNORECASE)
_PERCENT = re.compile(r"(\d{1,3})\s?%")


def sentences(text: str) -> list[str]:
    """Split ``text`` into trimmed sentences of at least 3 characters, in order."""
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) >= 3]


def contains_any(text: str, words: tuple[str, ...]) -> bool:
    """True if ``text`` contains one of ``words`` (case-insensitive; Hebrew has no case)."""
    lowered = text.lower()
    return any(word.lower() in lowered for word in words)


def matching(sentence_list: list[str], words: tuple[str, ...], limit: int) -> list[str]:
    """The first ``limit`` sentences that contain one of ``words``, without duplicates."""
    found: list[str] = []
    for sentence in sentence_list:
        if sentence not in found and contains_any(sentence, words):
            found.append(sentence)
        if len(found) == limit:
            break
    return found


def amounts(text: str) -> list[float]:
    """Shekel amounts found in ``text``, in order of appearance."""
    values = []
    for match in _AMOUNT.finditer(text):
        digits = next(group for group in match.groups() if group)
        values.append(float(digits.replace(",", "")))
    return values


def amount_near(sentence_list: list[str], words: tuple[str, ...]) -> float:
    """The first shekel amount in a sentence containing one of ``words``; 0 if none."""
    for sentence in sentence_list:
        if contains_any(sentence, words):
            found = amounts(sentence)
            if found:
                return found[0]
    return 0.0


def percents(text: str) -> list[int]:
    """Percentages (0-100) found in ``text``, in order."""
    return [int(p) for p in _PERCENT.findall(text) if int(p) <= 100]


def labelled(text: str, labels: tuple[str, ...], *, stop: str = "") -> str:
    """The value after ``Label:`` (or ``Label<TAB>``, as in a table row) on the first line carrying
    one of ``labels``, tried in order; empty if none.

    The label must start a word; the value ends at the line end or at any character of ``stop``.
    """
    for label in labels:
        pattern = rf"(?<!\w){re.escape(label)}[ \t]*(?:[:：]|\t)[ \t]*([^\n]+)"
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            value = re.split(f"[{re.escape(stop)}]", match.group(1))[0] if stop else match.group(1)
            if value.strip():
                return value.strip()[:120]
    return ""


# Dates written as 2024-03-12, 12/03/2024 or 12.3.2024 (day first, as in Israel).
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DAY_FIRST = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")


def iso_date(text: str) -> str:
    """The first date in ``text`` as ISO ``YYYY-MM-DD``; empty if none (or not a calendar date)."""
    match = _ISO_DATE.search(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
    else:
        match = _DAY_FIRST.search(text)
        if not match:
            return ""
        day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return ""


# An id number after its label: "ת.ז. 000000018", "ת.ז: 123456782", "ID number: 123456782".
_ID_NUMBER = re.compile(
    r"(?:ת\.?\s?ז\.?|תעודת זהות|מספר זהות|\bID(?:\s+(?:number|no\.?))?|\bIdentity number)"
    r"\s*[:：.]?\s*(\d{5,9})\b", re.IGNORECASE)


def id_number(text: str) -> str:
    """The first Israeli id number written after an id label; empty if none."""
    match = _ID_NUMBER.search(text)
    return match.group(1) if match else ""


def summary(sentence_list: list[str], limit: int = 3) -> str:
    """An extractive summary: the first ``limit`` sentences."""
    return " ".join(sentence_list[:limit])
