"""Values of a PDF page's fillable form fields (AcroForm widgets), each beside its printed label.

A form filled in a viewer and saved without flattening keeps the answers in field dictionaries
(``/V``), not in the page's content stream, so text extraction alone sees only the printed
labels. Each field's label is the printed text on the widget's line to its left (the common form
layout); failing that, the field's alternate name (``/TU``) or its name (``/T``) (PDF 32000-1:2008
§12.7.3.1). Checkboxes and radio buttons come out as words (§12.7.4.2).
"""

from __future__ import annotations

from typing import Any

_MAX_LABEL_GAP = 400.0  # points; a label further left than this belongs to something else


def form_lines(page: Any) -> list[str]:
    """``label value`` lines for the filled fields whose widgets sit on ``page``, top to bottom."""
    fields = _fields(page)
    if not fields:
        return []
    labels = _printed_pieces(page)
    fields.sort(key=lambda item: (-item[1][3], item[1][0]))
    return [_line(_label(rect, labels) or name, value) for name, rect, value in fields]


def _line(label: str, value: str) -> str:
    return f"{label} {value}" if label.endswith(":") else f"{label}: {value}"


def _fields(page: Any) -> list[tuple[str, tuple[float, float, float, float], str]]:
    """(name, widget rectangle, value as words) per field with a value, one widget per field."""
    found: dict[int, tuple[str, tuple[float, float, float, float], str]] = {}
    for annotation in page.get("/Annots") or []:
        widget = annotation.get_object()
        if widget.get("/Subtype") != "/Widget":
            continue
        field = widget if "/T" in widget or "/Parent" not in widget else widget["/Parent"].get_object()
        value = _value(field, widget)
        if value is None or id(field) in found:
            continue
        rect = tuple(float(x) for x in widget.get("/Rect", [0, 0, 0, 0]))
        name = str(field.get("/TU") or field.get("/T") or "Form field")
        found[id(field)] = (name, (min(rect[0], rect[2]), min(rect[1], rect[3]),
                                   max(rect[0], rect[2]), max(rect[1], rect[3])), value)
    return list(found.values())


def _inherited(field: Any, key: str) -> Any:
    while field is not None:
        if key in field:
            return field[key]
        parent = field.get("/Parent")
        field = parent.get_object() if parent is not None else None
    return None


def _value(field: Any, widget: Any) -> str | None:
    """The field's value as a reader would say it, or None for an empty text or choice field."""
    kind = _inherited(field, "/FT")
    value = _inherited(field, "/V")
    if kind == "/Btn":
        flags = int(_inherited(field, "/Ff") or 0)
        if flags & (1 << 16):  # push button: no value (§12.7.4.2, Ff bit 17)
            return None
        state = str(value if value is not None else widget.get("/AS", "/Off")).lstrip("/")
        if flags & (1 << 15):  # radio group (Ff bit 16)
            return "not selected" if state in ("", "Off") else f"selected {state}"
        return "not checked" if state in ("", "Off") else "checked"
    if value is None:
        return None
    if isinstance(value, list):
        text = ", ".join(str(item) for item in value)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text or None


def _printed_pieces(page: Any) -> list[tuple[float, float, str]]:
    """(x, y, text) of each printed text piece of the page (plain extraction's positions)."""
    pieces: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, _size: Any) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            pieces.append((x, y, text.strip()))

    page.extract_text(visitor_text=visit)
    return pieces


def _label(rect: tuple[float, float, float, float], pieces: list[tuple[float, float, str]]) -> str | None:
    """The printed text nearest to the left of the widget on its line."""
    left, bottom, _right, top = rect
    slack = max(2.0, (top - bottom) * 0.25)
    candidates = [(left - x, text) for x, y, text in pieces
                  if bottom - slack <= y <= top + slack and x < left and left - x <= _MAX_LABEL_GAP]
    return min(candidates)[1] if candidates else None
