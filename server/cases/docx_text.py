"""DOCX text in reading order: every word a reader of the document sees, once.

python-docx opens the package and resolves its parts (body, headers, footers, footnotes,
endnotes); this module walks their WordprocessingML (ECMA-376 Part 1, §17) in document order.
``docs/documents.md`` compares docx2python and mammoth on the shared fixtures: each misses a
construct (mammoth drops headers, docx2python reads a text box twice), hence the walker.

What the walker reads, and how:
- paragraphs and tables in document order; content controls (``w:sdt``), custom XML and smart
  tags at block, row, cell and run level are transparent wrappers;
- hyperlinks' text and fields' displayed results (``w:fldSimple`` content; for complex fields the
  runs after ``separate``); field instructions are not text;
- tracked changes as the document now reads: insertions and moves-to kept, deletions and
  moves-from dropped, with a warning when the file has any;
- text boxes and shapes once: of ``mc:AlternateContent`` only the first ``mc:Choice`` is read (the
  ``mc:Fallback`` repeats it for old readers); a box's paragraphs follow its anchor paragraph;
- tables: one line per row, cells separated by a tab, a vertically merged cell read once (its
  continuation cells are empty by definition, §17.4.85), deleted rows dropped; a nested table is
  kept inside its cell, rows separated by `` / `` and cells by `` | ``;
- headers and footers once per distinct text, labelled ``[Header]`` / ``[Footer]``; footnotes and
  endnotes after the body as ``[Footnote N]`` / ``[Endnote N]``, with ``[N]`` where they are cited;
- equations (Office Math) as their characters in order;
- images, charts, diagrams, embedded objects and embedded documents have no readable text: each
  kind is named in a warning.

Iteration is recursive over element nesting; lxml refuses XML nested deeper than 256 levels, so
the recursion stays far below Python's limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
MATH = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_TEXTBOX = W + "txbxContent"
_WRAPPERS = {W + "sdt", W + "sdtContent", W + "customXml", W + "smartTag", W + "hyperlink", W + "fldSimple",
             W + "ins", W + "moveTo", W + "dir", W + "bdo"}
_DROPPED = {W + "del", W + "moveFrom", W + "sdtPr", W + "sdtEndPr", W + "customXmlPr", W + "smartTagPr",
            W + "pPr", W + "rPr", W + "tblPr", W + "tblGrid", W + "trPr", W + "tcPr", W + "instrText",
            W + "delText", W + "delInstrText", W + "fldData", MC + "Fallback"}
_CHANGES = (W + "ins", W + "del", W + "moveFrom", W + "moveTo")
# What cannot be read as text, by the element that marks it (searched inside drawings and objects).
_NO_TEXT = {
    "{http://schemas.openxmlformats.org/drawingml/2006/picture}pic": "images",
    "{http://schemas.openxmlformats.org/drawingml/2006/chart}chart": "charts",
    "{http://schemas.openxmlformats.org/drawingml/2006/diagram}relIds": "diagrams (SmartArt)",
    "{urn:schemas-microsoft-com:vml}imagedata": "images",
    W + "object": "embedded objects",
    W + "altChunk": "embedded documents",
}
_CHANGES_WARNING = ("The document has tracked changes that were not accepted; its text is stored as the document "
                    "now reads (insertions kept, deletions left out).")


@dataclass
class _Walk:
    """State of one document's walk: cited notes, things without text, tracked changes seen."""

    notes: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, id) -> number shown
    no_text: Counter[str] = field(default_factory=Counter)
    changes: bool = False


@dataclass
class DocxText:
    """The text of a DOCX (lines joined by newlines) and its ``warnings``."""

    text: str
    warnings: list[str]


def read_docx(document: Any) -> DocxText:
    """The text of a python-docx ``Document`` in reading order (see the module docstring)."""
    walk = _Walk()
    parts = _related_parts(document.part)
    headers = _labelled(parts.get("header", []), "[Header]", walk)
    body = _blocks(document.part.element.body, walk)
    footers = _labelled(parts.get("footer", []), "[Footer]", walk)
    notes = _notes(parts, walk)
    warnings = [_CHANGES_WARNING] if walk.changes else []
    for kind, count in sorted(walk.no_text.items()):
        warnings.append(f"The document contains {count} {kind} with no readable text; they were left out.")
    return DocxText("\n".join([*headers, *body, *footers, *notes]), warnings)


def _labelled(parts: list[Any], label: str, walk: _Walk) -> list[str]:
    """Each distinct non-empty header (or footer) text once, after its label."""
    lines: list[str] = []
    seen: set[str] = set()
    for part in parts:
        text = "\n".join(line for line in _blocks(_element(part), walk) if line.strip())
        if text and text not in seen:
            seen.add(text)
            lines.extend([label, text])
    return lines


def _related_parts(main: Any) -> dict[str, list[Any]]:
    """Header, footer, footnote and endnote parts of the main document part, by kind, in rId order."""
    parts: dict[str, list[Any]] = {}
    seen: set[str] = set()
    for rel in sorted(main.rels.values(), key=lambda r: _rid_order(r.rId)):
        if rel.is_external or not rel.reltype.startswith(_REL):
            continue
        kind = rel.reltype[len(_REL):]
        if kind in ("header", "footer", "footnotes", "endnotes") and str(rel.target_part.partname) not in seen:
            seen.add(str(rel.target_part.partname))
            parts.setdefault(kind, []).append(rel.target_part)
    return parts


def _rid_order(rid: str) -> tuple[int, str]:
    digits = "".join(ch for ch in rid if ch.isdigit())
    return (int(digits) if digits else 0, rid)


def _element(part: Any) -> Any:
    element = getattr(part, "element", None)
    if element is None:
        from docx.oxml.parser import parse_xml

        element = parse_xml(part.blob)
    return element


def _notes(parts: dict[str, list[Any]], walk: _Walk) -> list[str]:
    """``[Footnote N] text`` lines for the notes the body cites, in citation order."""
    texts: dict[tuple[str, str], str] = {}
    for kind in ("footnote", "endnote"):
        for part in parts.get(kind + "s", []):
            for note in _element(part).iterchildren(W + kind):
                key = (kind, note.get(W + "id", ""))
                if key in walk.notes:
                    texts[key] = " ".join(line for line in _blocks(note, walk) if line.strip())
    out = []
    for (kind, note_id), number in sorted(walk.notes.items(), key=lambda item: (item[0][0], item[1])):
        text = texts.get((kind, note_id))
        if text:
            out.append(f"[{kind.capitalize()} {number}] {text}")
    return out


def _blocks(container: Any, walk: _Walk, nested: bool = False) -> list[str]:
    """Lines of the block-level content of ``container`` (body, cell, text box, header, note);
    ``nested``: inside a table cell, where a table is one line (rows `` / ``, cells `` | ``)."""
    lines: list[str] = []
    for child in container.iterchildren():
        tag = child.tag
        if tag == W + "p":
            text, boxes = _paragraph(child, walk)
            lines.append(text)
            lines.extend(boxes)
        elif tag == W + "tbl" and nested:
            lines.append(" / ".join(_table_rows(child, walk, " | ")))
        elif tag == W + "tbl":
            lines.extend(_table_rows(child, walk, "\t"))
        elif tag in _WRAPPERS:
            walk.changes |= tag in _CHANGES
            lines.extend(_blocks(child, walk, nested))
        elif tag in _CHANGES:
            walk.changes = True
        elif tag in _NO_TEXT:
            walk.no_text[_NO_TEXT[tag]] += 1
    return lines


def _paragraph(paragraph: Any, walk: _Walk) -> tuple[str, list[str]]:
    """The paragraph's visible text and the lines of the text boxes anchored in it."""
    parts: list[str] = []
    boxes: list[str] = []
    fields: list[bool] = []  # open complex fields (§17.16.18): True while in their instructions
    _inline(paragraph, walk, parts, boxes, fields)
    return "".join(parts), boxes


def _inline(container: Any, walk: _Walk, parts: list[str], boxes: list[str], fields: list[bool]) -> None:
    for child in container.iterchildren():
        tag = child.tag
        if tag == W + "r":
            _run(child, walk, parts, boxes, fields)
        elif tag in _WRAPPERS:
            walk.changes |= tag in _CHANGES
            _inline(child, walk, parts, boxes, fields)
        elif tag in _CHANGES:
            walk.changes = True
        elif tag == MC + "AlternateContent":
            _inline(_choice(child), walk, parts, boxes, fields)
        elif tag in (MATH + "oMath", MATH + "oMathPara"):
            parts.append("".join(text.text or "" for text in child.iter(MATH + "t")))  # an equation's characters
        elif tag not in _DROPPED and tag.startswith(W):
            _inline(child, walk, parts, boxes, fields)  # e.g. w:rubyBase, w:oMath wrappers hold runs


def _run(run: Any, walk: _Walk, parts: list[str], boxes: list[str], fields: list[bool]) -> None:
    for child in run.iterchildren():
        tag = child.tag
        if tag == W + "fldChar":
            _field_char(child.get(W + "fldCharType"), fields)
            continue
        if any(fields):
            continue  # between a field's begin and separate: its instructions, not its result
        if tag == W + "t":
            parts.append(child.text or "")
        elif tag in (W + "tab", W + "ptab"):
            parts.append("\t")
        elif tag in (W + "br", W + "cr"):
            parts.append("\n")
        elif tag == W + "noBreakHyphen":
            parts.append("-")
        elif tag in (W + "footnoteReference", W + "endnoteReference"):
            kind = "footnote" if tag == W + "footnoteReference" else "endnote"
            key = (kind, child.get(W + "id", ""))
            number = walk.notes.setdefault(key, 1 + sum(1 for k in walk.notes if k[0] == kind))
            parts.append(f"[{number}]")
        elif tag in (W + "drawing", W + "pict", W + "object", MC + "AlternateContent"):
            _shapes(child, walk, boxes)


def _field_char(kind: str | None, fields: list[bool]) -> None:
    if kind == "begin":
        fields.append(True)
    elif kind == "separate" and fields:
        fields[-1] = False
    elif kind == "end" and fields:
        fields.pop()


def _choice(alternate: Any) -> Any:
    """The first ``mc:Choice`` of ``mc:AlternateContent`` (the fallback repeats it), or the fallback alone."""
    for child in alternate.iterchildren(MC + "Choice", MC + "Fallback"):
        return child
    return alternate


def _shapes(element: Any, walk: _Walk, boxes: list[str]) -> None:
    """Text box lines inside a drawing, VML picture or object; count what has no text."""
    stack = [element]
    while stack:
        node = stack.pop()
        tag = node.tag
        if tag == _TEXTBOX:
            boxes.extend(line for line in _blocks(node, walk) if line.strip())
            continue
        if tag in _NO_TEXT:
            walk.no_text[_NO_TEXT[tag]] += 1
        if tag == MC + "AlternateContent":
            stack.append(_choice(node))
        elif tag != MC + "Fallback":
            stack.extend(reversed(list(node.iterchildren())))


def _rows(table: Any) -> Iterable[Any]:
    for child in table.iterchildren():
        if child.tag == W + "tr":
            yield child
        elif child.tag in _WRAPPERS:
            yield from _rows(child)


def _cells(row: Any) -> Iterable[Any]:
    for child in row.iterchildren():
        if child.tag == W + "tc":
            yield child
        elif child.tag in _WRAPPERS:
            yield from _cells(child)


def _table_rows(table: Any, walk: _Walk, separator: str) -> list[str]:
    """One line per row of ``table``; vertically merged continuation cells and deleted rows left out."""
    lines = []
    for row in _rows(table):
        properties = row.find(W + "trPr")
        if properties is not None and properties.find(W + "del") is not None:
            walk.changes = True
            continue
        cells = [_cell_text(cell, walk) for cell in _cells(row) if not _merged_continuation(cell)]
        lines.append(separator.join(cells))
    return lines


def _merged_continuation(cell: Any) -> bool:
    properties = cell.find(W + "tcPr")
    merge = properties.find(W + "vMerge") if properties is not None else None
    return merge is not None and merge.get(W + "val", "continue") == "continue"


def _cell_text(cell: Any, walk: _Walk) -> str:
    """A cell's paragraphs (and text boxes, nested tables) joined by spaces, so its row stays one line."""
    return " ".join(" ".join(line.split("\n")) for line in _blocks(cell, walk, nested=True) if line.strip())
