"""DOCX files with one WordprocessingML construct each, made with python-docx plus raw body XML.

python-docx has no API for content controls, text boxes, tracked changes or notes, so the body
XML of each construct is written as Word writes it (ECMA-376 Part 1) and spliced into a document
python-docx created; notes get their own part, relationship and content type.
"""

from __future__ import annotations

import io
import zipfile

NS = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
      'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
      'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
      'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
      'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture" '
      'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
      'xmlns:v="urn:schemas-microsoft-com:vml" '
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')


def p(text: str) -> str:
    """A paragraph with one run."""
    return f"<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>"


def r(text: str) -> str:
    """One run."""
    return f"<w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r>"


def cell(content: str, props: str = "") -> str:
    """A table cell holding ``content`` (block XML) with optional ``w:tcPr`` children."""
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{content}</w:tc>"


def table(*rows: str) -> str:
    """A table of ``rows`` (``w:tr`` XML)."""
    return f"<w:tbl><w:tblPr/><w:tblGrid/>{''.join(rows)}</w:tbl>"


def row(*cells: str) -> str:
    """A table row."""
    return f"<w:tr>{''.join(cells)}</w:tr>"


def build(body_xml: str, *, headers: list[str] | None = None, footers: list[str] | None = None,
          footnotes: dict[int, str] | None = None) -> bytes:
    """A DOCX whose body is ``body_xml``; ``headers``/``footers`` are paragraph texts of the first
    section's default and first-page ones; ``footnotes`` maps note id to its text."""
    import docx

    document = docx.Document()
    section = document.sections[0]
    for index, text in enumerate(headers or []):
        (section.header if index == 0 else section.first_page_header).paragraphs[0].text = text
    for index, text in enumerate(footers or []):
        (section.footer if index == 0 else section.first_page_footer).paragraphs[0].text = text
    if headers and len(headers) > 1 or footers and len(footers) > 1:
        section.different_first_page_header_footer = True
    out = io.BytesIO()
    document.save(out)
    return _splice(out.getvalue(), body_xml, footnotes or {})


def _splice(data: bytes, body_xml: str, footnotes: dict[int, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            raw = source.read(item.filename)
            if not item.filename.endswith((".xml", ".rels")):
                target.writestr(item.filename, raw)
                continue
            content = raw.decode("utf-8")
            if item.filename == "word/document.xml":
                head, rest = content.split("<w:body>", 1)
                section = rest[rest.index("<w:sectPr"):]
                missing = " ".join(decl for decl in NS.split(" ") if decl.split("=")[0] + "=" not in head)
                head = head.replace("<w:document ", f"<w:document {missing} ", 1)
                content = f"{head}<w:body>{body_xml}{section}"
            elif item.filename == "word/_rels/document.xml.rels" and footnotes:
                content = content.replace("</Relationships>", '<Relationship Id="rIdNotes" Type="http://schemas.'
                                          'openxmlformats.org/officeDocument/2006/relationships/footnotes" '
                                          'Target="footnotes.xml"/></Relationships>')
            elif item.filename == "[Content_Types].xml" and footnotes:
                content = content.replace("</Types>", '<Override PartName="/word/footnotes.xml" ContentType='
                                          '"application/vnd.openxmlformats-officedocument.wordprocessingml.'
                                          'footnotes+xml"/></Types>')
            target.writestr(item.filename, content)
        if footnotes:
            notes = "".join(f'<w:footnote w:id="{key}">{p(text)}</w:footnote>' for key, text in footnotes.items())
            target.writestr("word/footnotes.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                                                  f"<w:footnotes {NS}>{notes}</w:footnotes>")
    return out.getvalue()
