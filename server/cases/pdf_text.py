"""PDF text: page text in reading order (layout mode, capped), Hebrew in logical order, and the values
typed into fillable form fields (AcroForm), each beside its printed label.

Synchronous and CPU-bound; ``server.cases.extraction`` runs it in a worker process under a memory
cap and a time limit. Errors are ``Unprocessable`` with messages that never contain document text
or library exception text.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from server.cases.bidi import to_logical_order
from server.cases.pdf_forms import form_lines
from server.error_codes import ErrorCode
from server.errors import Unprocessable

log = logging.getLogger(__name__)

# Layout mode pads text with spaces to keep columns; text pieces spread far apart on a line make that
# padding explode (60,000 one-letter pieces gave 600 million characters and 1.3 GB). Past this many
# characters a page is rendered compactly instead (one space between pieces), with a warning.
LAYOUT_MAX_CHARS_PER_PAGE = 200_000
_SCALE_WEIGHT = 1.25  # pypdf's default weighting of the fixed character width


@dataclass
class PdfText:
    """The text of a PDF: ``text`` (pages separated by a blank line), ``pages`` and ``warnings``."""

    text: str
    pages: int
    warnings: list[str] = field(default_factory=list)


class _Counter(logging.Handler):
    """Counts pypdf's per-object log records instead of letting each become a log line."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.count += 1


@contextmanager
def _counted_library_warnings() -> Iterator[_Counter]:
    library = logging.getLogger("pypdf")
    counter = _Counter()
    propagate = library.propagate
    library.addHandler(counter)
    library.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield counter
        counter.count += len(caught)
    finally:
        library.removeHandler(counter)
        library.propagate = propagate


def read_pdf(data: bytes) -> PdfText:
    """Extract the text and form values of the PDF ``data``.

    Returns:
        ``PdfText``; Hebrew stored in visual order is reordered, with a warning.

    Raises:
        Unprocessable: ``encrypted_file`` (needs a password), ``truncated_file`` (fails to parse and
            has no ``%%EOF`` near its end), ``corrupt_file`` (fails to parse otherwise).
    """
    import pypdf

    notes: list[str] = []
    with _counted_library_warnings() as counter:
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise Unprocessable("The PDF is password-protected; remove the password and upload it again",
                                    code=ErrorCode.ENCRYPTED_FILE)
            pages = [_page_text(page, notes) for page in reader.pages]
            with_images = [number for number, page in enumerate(reader.pages, 1) if _has_images(page)]
        except (Unprocessable, MemoryError, RecursionError):
            raise
        except Exception:  # pypdf signals damage through dozens of exception types  # noqa: BLE001
            raise _unreadable(data) from None
    text, reordered = to_logical_order("\n\n".join(page for page in pages if page))
    if with_images and text:  # with no text at all, NO_TEXT_WARNING already says it is an image
        notes.append(f"Images on page{'s' if len(with_images) > 1 else ''} {_ranges(with_images)} were not read: "
                     "text inside them (a scan, a stamp, a photographed form) is not in the stored text.")
    if reordered:
        notes.append("Right-to-left text was stored in visual order in the PDF and was reordered.")
    if counter.count:
        log.info("pdf read with %d library warnings", counter.count)
        notes.append(f"The PDF has {counter.count} damaged or unusual objects; some of its text may be missing.")
    return PdfText(text, len(pages), notes)


def _has_images(page: Any, depth: int = 0) -> bool:
    """True when the page (or a form it draws, two levels down) paints an image."""
    resources = page.get("/Resources")
    objects = resources.get_object().get("/XObject") if resources is not None else None
    if objects is None:
        return False
    for reference in objects.get_object().values():
        item = reference.get_object()
        subtype = item.get("/Subtype")
        if subtype == "/Image" or (subtype == "/Form" and depth < 2 and _has_images(item, depth + 1)):
            return True
    return False


def _ranges(numbers: list[int]) -> str:
    """``1-3, 7`` for [1, 2, 3, 7]."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(f"{start}-{end}" if end > start else f"{start}" for start, end in spans)


def _unreadable(data: bytes) -> Unprocessable:
    # Judge by parsing, not by where the marker sits: padding after %%EOF is fine when the file parses.
    if b"%%EOF" not in data[-4096:].rstrip(b"\x00\r\n\t \x0c"):
        return Unprocessable("The PDF is truncated (its end-of-file marker is missing); upload the complete file",
                             code=ErrorCode.TRUNCATED_FILE)
    return Unprocessable("The PDF is corrupt or truncated and could not be read", code=ErrorCode.CORRUPT_FILE)


def _page_text(page: Any, notes: list[str]) -> str:
    """One page: layout text (capped), then ``label value`` lines of its filled form fields."""
    try:
        text, capped = _layout_text(page)
        if capped:
            notes.append(f"Page {page.page_number + 1} spreads its text so widely that its column layout was "
                         "not kept; its words are stored in order with single spaces.")
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, ZeroDivisionError, ImportError):
        log.info("pdf layout extraction failed; using plain mode")
        text = page.extract_text() or ""
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    lines.extend(form_lines(page))
    return "\n".join(lines)


def _layout_text(page: Any) -> tuple[str, bool]:
    """pypdf's layout mode with a character cap: (text, capped). Layout mode orders glyphs by position,
    so visually stored right-to-left text comes out consistently visual, and the repair can run."""
    from pypdf._text_extraction import _layout_mode  # layout internals, to size the page before padding it
    from pypdf.generic import ArrayObject, ContentStream, StreamObject

    contents = page.get("/Contents")
    contents = contents.get_object() if contents is not None else None
    if not isinstance(contents, (ArrayObject, StreamObject)):
        return "", False
    operations = iter(ContentStream(contents, page.pdf, "bytes").operations)
    groups = _layout_mode.text_show_operations(operations, page._layout_mode_fonts(), True, None)
    if not groups:
        return "", False
    lines = _layout_mode.y_coordinate_groups(groups, None)
    char_width = _layout_mode.fixed_char_width(groups, _SCALE_WEIGHT)
    if _padded_length(lines, char_width) > LAYOUT_MAX_CHARS_PER_PAGE:
        return _compact(lines), True
    return _layout_mode.fixed_width_page(lines, char_width, False, 1), False


def _padded_length(lines: dict[int, list[Any]], char_width: float) -> int:
    """Characters ``fixed_width_page`` would produce, computed without building them."""
    from pypdf._text_extraction._layout_mode import _fixed_width_page

    limit = getattr(_fixed_width_page, "WHITESPACE_LIMIT", 10**12)  # newer pypdf caps one gap's padding
    total = 0
    for pieces in lines.values():
        length = 0
        for piece in pieces:
            column = int(piece["tx"] // char_width) if char_width else length
            length += min(max(column - length, 0), limit) + len(piece["text"])
        total += length + 1
    return total


def _compact(lines: dict[int, list[Any]]) -> str:
    """The pieces of each line in order, one space where the page leaves a gap."""
    out = []
    for pieces in lines.values():
        parts: list[str] = []
        last_end = None
        for piece in pieces:
            if parts and last_end is not None and piece["tx"] > last_end + 0.5:
                parts.append(" ")
            parts.append(piece["text"])
            last_end = piece["displaced_tx"]
        out.append("".join(parts))
    return "\n".join(out)
