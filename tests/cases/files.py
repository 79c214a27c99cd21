"""Real documents generated for tests: PDFs (fpdf2, Hebrew with DejaVu Sans), DOCX (python-docx), broken ones."""

from __future__ import annotations

import io
import os
import uuid
import zipfile

HEBREW_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
HEBREW_MEDICAL = "סיכום רפואי: המטופל סובל מכאבי גב כרוניים מאז התאונה."
HEBREW_MIXED = "בדיקת MRI מיום 12/03/2024 הראתה פריצת דיסק L4-L5."
ENGLISH_LINE = "Discharge summary: chronic lumbar pain, work capacity reduced."


def pdf(lines: list[str] | None = None, pages: int = 1, *, shaped: bool = False) -> bytes:
    """A text PDF with ``lines`` on each of ``pages`` pages (Unicode font, so Hebrew renders);
    ``shaped``: fpdf2's text shaping (HarfBuzz), which stores right-to-left text in visual order."""
    from fpdf import FPDF

    if not os.path.exists(HEBREW_FONT):  # pragma: no cover - the CI image has DejaVu
        raise RuntimeError(f"Hebrew-capable font missing: {HEBREW_FONT}")
    doc = FPDF()
    doc.add_font("DejaVu", fname=HEBREW_FONT)
    doc.set_font("DejaVu", size=12)
    doc.set_text_shaping(shaped)
    for _ in range(pages):
        doc.add_page()
        for line in lines if lines is not None else [HEBREW_MEDICAL, HEBREW_MIXED, ENGLISH_LINE]:
            doc.multi_cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def scanned_pdf() -> bytes:
    """A PDF with drawings but no text (what a scan looks like to an extractor)."""
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.rect(20, 20, 100, 60, style="F")
    doc.line(20, 100, 180, 120)
    return bytes(doc.output())


def encrypted_pdf(user_password: str = "secret") -> bytes:  # noqa: S107  # a test fixture's password
    """A text PDF encrypted with AES-256 (pypdf's writer)."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf())))
    writer.encrypt(user_password, owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated_pdf() -> bytes:
    """The first half of a valid PDF."""
    data = pdf()
    return data[: len(data) // 2]


def corrupt_pdf() -> bytes:
    """Starts and ends like a PDF but has nothing readable in between."""
    return b"%PDF-1.7\n" + os.urandom(2000).replace(b"%%EOF", b"xxxxx") + b"\nstartxref\n999999\n%%EOF\n"


def docx(paragraphs: list[str] | None = None, table: list[list[str]] | None = None) -> bytes:
    """A DOCX with ``paragraphs`` and an optional table."""
    import docx as python_docx

    document = python_docx.Document()
    for text in paragraphs if paragraphs is not None else [HEBREW_MEDICAL, ENGLISH_LINE]:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def damaged_docx() -> bytes:
    """A zip with the DOCX parts but broken XML in word/document.xml."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx())) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    return out.getvalue()


def plain_zip() -> bytes:
    """A valid zip that is not a DOCX."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return out.getvalue()


def multipart(file_name: str | None, data: bytes | None, **fields: str) -> tuple[bytes, str]:
    """A multipart/form-data body with an optional ``file`` part and text ``fields``; returns (body, type)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode() + b"\r\n")
    if data is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def upload(api, case_id: str, file_name: str, data: bytes, *, user: str = "alice", **fields: str):
    """POST a document to a case through HTTP; returns the reply."""
    body, content_type = multipart(file_name, data, **fields)
    return await api.post(f"/cases/{case_id}/documents", body=body, user=user,
                          headers={"Content-Type": content_type})


async def new_case(api, *, user: str = "alice", title: str = "Test case", transcript: str | None = None) -> str:
    """Create a case through HTTP and return its id."""
    body: dict = {"title": title}
    if transcript is not None:
        body["call_details"] = {"transcript": transcript, "messages": []}
    reply = await api.post("/cases", body=body, user=user)
    assert reply.status == 201, reply.json
    return reply.json["case_id"]


def docx_bomb(paragraphs: int = 400_000) -> bytes:
    """A real DOCX whose document.xml is ``paragraphs`` empty paragraphs: tiny zipped, huge as a tree."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx([])) ) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + b"<w:p/>" * paragraphs, 1)
            target.writestr(item.filename, data)
    return out.getvalue()
