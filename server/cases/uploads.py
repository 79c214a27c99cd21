"""``/cases/{id}/documents``: list, and upload with a size limit enforced while the body streams in.

The body is never buffered beyond ``MAX_UPLOAD_BYTES`` plus a small allowance for the multipart
envelope: a declared ``Content-Length`` over the limit is refused in ``prepare`` before any body
byte is read, and a chunked body is counted as it arrives and refused the moment it passes the
limit. Tornado then closes the connection instead of reading the rest.
"""

from __future__ import annotations

import asyncio
import unicodedata
import uuid

import tornado.web

from server.cases.extraction import Extracted
from server.cases.handlers import CaseHandlerBase
from server.cases.models import Case, CaseDocument, DocumentType, document_view
from server.cases.multipart_upload import MultipartReceiver
from server.clock import utcnow
from server.error_codes import ErrorCode
from server.errors import DomainError, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType

ENVELOPE_BYTES = 64 * 1024  # multipart boundaries, part headers and the document_type field
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_DOCUMENT_TYPES = ", ".join(kind.value for kind in DocumentType)


def too_large(limit: int) -> PayloadTooLarge:
    """The 413 error for a document over ``limit`` bytes."""
    return PayloadTooLarge(f"The file is larger than the {limit} byte upload limit", code=ErrorCode.FILE_TOO_LARGE)


def clean_file_name(raw: str | None) -> str:
    """The last path segment of ``raw`` without control characters, at most 255 characters.

    Removed: C0/C1 controls (Unicode category Cc), format characters (Cf) such as the bidirectional
    controls U+200E/U+200F, U+202A-U+202E and U+2066-U+2069 that can make ``x<U+202E>fdp.exe`` display as
    ``xexe.pdf`` (Unicode TR #36 §2.1, CVE-2021-42574 "Trojan Source"), line and paragraph separators
    and lone surrogates. Kept: every printable character (Hebrew included) and the zero-width
    (non-)joiners U+200C/U+200D, which shape letters and emoji but never reorder them.
    """
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if _printable(char)).strip()
    return name[:255] or "document"


def _printable(char: str) -> bool:
    if char in "\u200c\u200d":
        return True
    return unicodedata.category(char) not in _UNSAFE_CATEGORIES


def document_type(raw: bytes | None) -> str:
    """The ``document_type`` form value (default ``general``); raises ``InvalidInput``."""
    if raw is None or not raw.strip():
        return DocumentType.GENERAL.value
    try:
        return DocumentType(raw.decode("utf-8").strip()).value
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput(f"'document_type' must be one of {_DOCUMENT_TYPES}",
                           code=ErrorCode.INVALID_DOCUMENT_TYPE) from None


@tornado.web.stream_request_body
class DocumentListHandler(CaseHandlerBase):
    """``GET /cases/{id}/documents`` and ``POST`` (multipart ``file`` + optional ``document_type``) -> 201.

    The upload streams through ``MultipartReceiver`` into a temporary file (never held in memory),
    a worker process reads that file, and the file is deleted when the request ends.
    """

    _case: Case
    _extraction: asyncio.Future[Extracted] | None = None
    _receiver: MultipartReceiver | None = None

    async def prepare(self) -> None:  # type: ignore[override]  # Tornado awaits a coroutine prepare
        super().prepare()
        if self.request.method != "POST":
            return
        self._case = await self.load_case(self.path_args[0])
        max_upload = self.cases.settings.max_upload_bytes
        self.expect_body(max_upload + ENVELOPE_BYTES, lambda _: too_large(max_upload))
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "multipart/form-data":
            raise UnsupportedMediaType("Send the file as multipart/form-data with a 'file' field",
                                       code=ErrorCode.UNSUPPORTED_CONTENT_TYPE)
        self._receiver = MultipartReceiver(content_type)

    def data_received(self, chunk: bytes) -> None:
        if self._finished or self._receiver is None:
            return
        try:
            if self.body_over_limit(chunk):
                raise too_large(self.cases.settings.max_upload_bytes)
            self._receiver.feed(chunk)
        except DomainError as error:
            self._discard()
            self.refuse(error)

    def on_connection_close(self) -> None:
        """The client went away: cancel its extraction (which kills the worker reading the file)."""
        super().on_connection_close()
        if self._extraction is not None:
            self._extraction.cancel()
        self._discard()

    def on_finish(self) -> None:
        super().on_finish()
        self._discard()

    def _discard(self) -> None:
        if self._receiver is not None:
            self._receiver.discard()

    async def get(self, raw_case_id: str) -> None:
        case = await self.load_case(raw_case_id)
        documents = await self.cases.repository.list_documents(case.case_id)
        self.write_json({"documents": [document_view(doc) for doc in documents], "count": len(documents)})

    async def post(self, raw_case_id: str) -> None:
        assert self._receiver is not None  # noqa: S101  # set by prepare for every POST
        upload = self._receiver.finish()
        if set(upload.fields) - {"document_type"}:  # as JSON bodies: unknown fields refused
            raise InvalidInput("Send only the multipart fields 'file' and 'document_type'",
                               code=ErrorCode.UNKNOWN_FIELD)
        kind = document_type(upload.fields.get("document_type"))
        limit = self.cases.settings.max_upload_bytes
        if upload.size_bytes > limit:
            raise too_large(limit)
        self._extraction = asyncio.ensure_future(self.cases.extractor.extract_file(upload.path, self.principal.user_id))
        try:
            extracted = await self._extraction
        except asyncio.CancelledError:
            if self.request.connection.stream.closed():  # type: ignore[union-attr]
                # The client went away: its worker was killed, nothing is stored or answered. 499 is
                # nginx's "client closed request", so the access log does not claim a 200.
                self.set_status(499, "Client Closed Request")
                return
            raise
        finally:
            self._receiver.discard()
        document = CaseDocument(
            document_id=str(uuid.uuid4()), case_id=self._case.case_id, file_name=clean_file_name(upload.file_name),
            content_type=extracted.content_type, size_bytes=extracted.size_bytes, sha256=extracted.sha256,
            document_type=kind, page_count=extracted.page_count, text_found=extracted.text_found,
            text_chars=len(extracted.text), uploaded_by=self.principal.user_id, created_at=utcnow(),
            text=extracted.text, warnings=extracted.warnings)
        stored = await self.cases.repository.add_document(document)
        if stored is None:
            raise NotFound("Case not found", code=ErrorCode.NOT_FOUND)
        self.set_header("Location", f"/cases/{stored.case_id}/documents/{stored.document_id}")
        self.write_json({**document_view(stored), "warnings": extracted.warnings}, 201)
