"""Hebrew in logical order: undo the visual ordering many PDF producers store.

A PDF positions glyphs left to right on the page; producers such as fpdf2, Chromium's "print to
PDF" and most report generators therefore store right-to-left text in *visual* order, and a text
extractor returns every Hebrew word reversed (``םולש`` for ``שלום``). DOCX and plain text store
logical order and need nothing.

Detection (per document, never per line, so one document is treated consistently): Hebrew has five
final letter forms (ך ם ן ף ץ) that occur only at the end of a word, and their regular forms
(כ מ נ פ צ) almost never end a word. In logical text finals end words and punctuation follows a
word (``נכות:``); in visual text finals start words, regular forms end them (``תוכנ``) and
punctuation precedes a word (``:תוכנ``). When the visual signs outnumber the logical ones, the text
is visual. Words touching a quote mark (abbreviations such as ``תמ"א``) are not counted.

Repair (per line that contains Hebrew, base direction right to left): python-bidi, the Unicode
Bidirectional Algorithm (UAX #9) implementation wrapping the Rust ``unicode-bidi`` crate. For a
line with one right-to-left paragraph level and embedded left-to-right runs (numbers, Latin words,
e-mail addresses), reordering the visual line for display gives back the logical order, with
numbers, percentages and e-mail addresses kept whole (UAX #9 rules W1-W7 and L2). Some producers
store brackets by their *shape* (already mirrored); a line whose brackets then close before they
open is mirrored back.
"""

from __future__ import annotations

import re

from bidi import get_display

_HEBREW = re.compile(r"[\u0590-\u05FF]")
_FINALS = "ךםןףץ"
_REGULAR_OF_FINALS = "כמנפצ"
_WORD = re.compile(r"(?<![\u05D0-\u05EA\"'\u05F3\u05F4])[\u05D0-\u05EA]{2,}(?![\u05D0-\u05EA\"'\u05F3\u05F4])")
_PUNCTUATION_BEFORE_WORD = re.compile(r"(?:^|\s)[:;,.!?][\u05D0-\u05EA]", re.MULTILINE)
_PUNCTUATION_AFTER_WORD = re.compile(r"[\u05D0-\u05EA][:;,.!?](?:\s|$)", re.MULTILINE)
_SPACES = re.compile(r"[ \t]{2,}")
_MIRROR = str.maketrans("()[]{}<>", ")(][}{><")
_OPEN = "([{<"
_CLOSE = ")]}>"


def is_visual_order(text: str) -> bool:
    """True when Hebrew words in ``text`` look reversed (see the module docstring for the signs)."""
    visual = len(_PUNCTUATION_BEFORE_WORD.findall(text))
    logical = len(_PUNCTUATION_AFTER_WORD.findall(text))
    for word in _WORD.findall(text):
        visual += (word[0] in _FINALS) + (word[-1] in _REGULAR_OF_FINALS)
        logical += word[-1] in _FINALS
    return visual > logical


def _closes_before_opening(line: str) -> bool:
    depth = 0
    for char in line:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
            if depth < 0:
                return True
    return False


def visual_to_logical_line(line: str) -> str:
    """One visually ordered line in logical order (base direction right to left); lines without
    Hebrew are returned unchanged. Runs of spaces (layout padding between glyph runs) become one."""
    if not _HEBREW.search(line):
        return line
    logical = get_display(_SPACES.sub(" ", line.strip()), base_dir="R")
    if _closes_before_opening(logical) and not _closes_before_opening(mirrored := logical.translate(_MIRROR)):
        return mirrored
    return logical


def to_logical_order(text: str) -> tuple[str, bool]:
    """Return ``text`` in logical order and whether it was reordered."""
    if not _HEBREW.search(text) or not is_visual_order(text):
        return text, False
    return "\n".join(visual_to_logical_line(line) for line in text.split("\n")), True
