"""Hebrew in logical order: undo the visual ordering many PDF producers store.

A PDF positions glyphs left to right on the page; producers such as fpdf2, Word's "print to PDF"
and most report generators therefore store right-to-left text in *visual* order, and a text
extractor returns every Hebrew word reversed (``םולש`` for ``שלום``). DOCX and plain text store
logical order and need nothing.

Detection (per document, never per line, so one document is treated consistently): Hebrew has five
final letter forms (ך ם ן ף ץ) that occur only at the end of a word. In logical text they end
words; in visual text they start them. When word-initial finals outnumber word-final ones, the
text is visual.

Repair (per line that contains Hebrew; the line's base direction is taken as right to left):
reverse the line, then restore the inner order of each left-to-right run (Latin words and numbers,
with the spaces and punctuation between them), and swap mirrored brackets outside those runs.
This is the inverse of the Unicode bidirectional algorithm for the common case of Hebrew lines with
embedded numbers and Latin words; deeply nested embeddings are not reconstructed.
"""

from __future__ import annotations

import re

_HEBREW = re.compile(r"[\u0590-\u05FF]")
_FINALS = "ךםןףץ"
_WORD = re.compile(r"[\u05D0-\u05EA]{2,}")
# A left-to-right run: starts and ends with a Latin letter or digit, may contain LTR-friendly neutrals inside.
_LTR_RUN = re.compile(r"[A-Za-z0-9\u00C0-\u024F](?:[A-Za-z0-9\u00C0-\u024F.,:/%\-+'’ ]*[A-Za-z0-9\u00C0-\u024F%])?")
_MIRROR = str.maketrans("()[]{}<>", ")(][}{><")


def is_visual_order(text: str) -> bool:
    """True when Hebrew words in ``text`` look reversed (final letters at the start of words)."""
    starts = ends = 0
    for word in _WORD.findall(text):
        if word[0] in _FINALS:
            starts += 1
        if word[-1] in _FINALS:
            ends += 1
    return starts > ends


def visual_to_logical_line(line: str) -> str:
    """Reorder one visually ordered line with a right-to-left base direction into logical order."""
    if not _HEBREW.search(line):
        return line
    reversed_line = line[::-1]
    out: list[str] = []
    position = 0
    for run in _LTR_RUN.finditer(reversed_line):
        out.append(reversed_line[position:run.start()].translate(_MIRROR))
        out.append(run.group(0)[::-1])
        position = run.end()
    out.append(reversed_line[position:].translate(_MIRROR))
    return "".join(out)


def to_logical_order(text: str) -> tuple[str, bool]:
    """Return ``text`` in logical order and whether it was reordered."""
    if not _HEBREW.search(text) or not is_visual_order(text):
        return text, False
    return "\n".join(visual_to_logical_line(line) for line in text.split("\n")), True
