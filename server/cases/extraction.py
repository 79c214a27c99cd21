"""Document type detection by content and text extraction (PDF, DOCX, plain text).

Everything here is synchronous and CPU-bound: ``server.cases.extraction_pool`` runs it in worker processes.
Errors are domain errors: ``UnsupportedMediaType`` (415) for a type we do not read, and
``Unprocessable`` (422) for a file of a known type that cannot be read (encrypted, corrupt,
truncated). Their messages never contain document text or library exception text.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

from server.error_codes import ErrorCode
from server.errors import Unprocessable, UnsupportedMediaType

log = logging.getLogger(__name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT = "text/plain; charset=utf-8"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc, or an encrypted OOXML container
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_SPACES = re.compile(r" {3,}")  # layout mode pads columns with spaces; keep a two-space column gap
# Zip-bomb guards for DOCX. python-docx builds the whole XML tree: 20 MB of empty paragraphs
# (31 KB zipped) took 1.3 GB and two minutes. Real Word XML deflates 5-30x; repetition-only
# bombs deflate hundreds of times.
_MAX_DOCX_UNCOMPRESSED = 30 * 1024 * 1024
_MAX_DOCX_RATIO = 100
_RATIO_CHECKED_ABOVE = 1024 * 1024  # small members may deflate very well without harm
NO_TEXT_WARNING = ("No extractable text was found: the PDF may be a scanned image. It was stored, but analyses "
                   "cannot read it; upload a text PDF, a DOCX, or the text itself.")


@dataclass(frozen=True)
class Extracted:
    """What extraction learned about a file."""

    content_type: str
    text: str
    page_count: int | None
    text_found: bool
    sha256: str
    size_bytes: int
    warnings: list[str] = field(default_factory=list)


def detect(data: bytes) -> str:
    """The content type of ``data`` judged by its bytes: ``PDF``, ``DOCX`` or ``TEXT``.

    Raises:
        UnsupportedMediaType: anything else (images, legacy .doc, zips that are not DOCX, binary).
        Unprocessable: an encrypted Office document, or a zip too damaged to tell.
    """
    if not data:
        raise Unprocessable("The file is empty", code=ErrorCode.EMPTY_FILE)
    if b"%PDF-" in data[:1024]:
        return PDF
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            raise Unprocessable("The file is a damaged or truncated ZIP/DOCX archive",
                                code=ErrorCode.CORRUPT_FILE) from None
        if "word/document.xml" in names:
            return DOCX
        raise UnsupportedMediaType("The ZIP archive is not a Word (DOCX) document; upload PDF, DOCX or plain text",
                                   code=ErrorCode.UNSUPPORTED_FILE_TYPE)
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise Unprocessable("The Word document is password-protected; remove the password and upload it again",
                                code=ErrorCode.ENCRYPTED_FILE)
        raise UnsupportedMediaType("Legacy .doc files are not supported; save the document as DOCX or PDF",
                                   code=ErrorCode.UNSUPPORTED_FILE_TYPE)
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
            return TEXT
        except UnicodeDecodeError:
            pass
    raise UnsupportedMediaType("Unsupported file type: upload a PDF, a DOCX or UTF-8 plain text",
                               code=ErrorCode.UNSUPPORTED_FILE_TYPE)


def extract(data: bytes) -> Extracted:
    """Detect the type of ``data`` and extract its text (blocking; the worker processes run it)."""
    content_type = detect(data)
    pages: int | None
    if content_type == PDF:
        text, pages, warnings = _pdf(data)
    elif content_type == DOCX:
        text, pages, warnings = _docx(data)
    else:
        text, pages, warnings = data.decode("utf-8").removeprefix("\ufeff"), None, []
    text = text.replace("\r\n", "\n").strip()
    text_found = bool(text)
    if not text_found:
        warnings.append(NO_TEXT_WARNING if content_type == PDF else "The document contains no text.")
    return Extracted(content_type, text, pages, text_found, hashlib.sha256(data).hexdigest(), len(data), warnings)


def _pdf(data: bytes) -> tuple[str, int, list[str]]:
    from server.cases.pdf_text import read_pdf

    result = read_pdf(data)
    return result.text, result.pages, result.warnings


def _refuse_zip_bomb(archive: zipfile.ZipFile) -> None:
    members = archive.infolist()
    too_big = sum(info.file_size for info in members) > _MAX_DOCX_UNCOMPRESSED
    too_dense = any(info.file_size > _RATIO_CHECKED_ABOVE
                    and info.file_size > _MAX_DOCX_RATIO * max(1, info.compress_size) for info in members)
    if too_big or too_dense:
        raise Unprocessable("The DOCX expands far beyond its size (more than 30 MB, or over 100 times its "
                            "compressed size) and was refused", code=ErrorCode.DOCX_TOO_LARGE)


def _docx(data: bytes) -> tuple[str, int | None, list[str]]:
    import docx
    from docx.opc.exceptions import OpcError

    from server.cases.docx_text import read_docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _refuse_zip_bomb(archive)
            pages = _docx_pages(archive)
        result = read_docx(docx.Document(io.BytesIO(data)))
    except Unprocessable:
        raise
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError, AttributeError, TypeError,
            OSError) as problem:  # SyntaxError covers lxml's XMLSyntaxError and ElementTree.ParseError
        log.info("docx could not be read: %s", type(problem).__name__)
        raise Unprocessable("The DOCX is corrupt and could not be read", code=ErrorCode.CORRUPT_FILE) from None
    return result.text, pages, result.warnings


def _docx_pages(archive: zipfile.ZipFile) -> int | None:
    """The page count Word saved in ``docProps/app.xml``, when present."""
    try:
        root = ElementTree.fromstring(archive.read("docProps/app.xml"))  # noqa: S314  # size-bounded above
    except (KeyError, ElementTree.ParseError):
        return None
    for element in root.iter():
        if element.tag.endswith("}Pages") and (element.text or "").strip().isdigit():
            return int(element.text.strip())  # type: ignore[union-attr]
    return None
