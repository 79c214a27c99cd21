"""Case and document records, the request bodies that change them, and their public JSON views."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pydantic

from server.cases.views import CaseSummaryView, CaseView, DocumentView, DocumentWithText
from server.text import visible_strip

MAX_TITLE_CHARS = 200
MAX_TRANSCRIPT_CHARS = 2_000_000
MAX_MESSAGES = 10_000
DEFAULT_STATUS = "New"
SUBMISSION_PENDING = "Submission pending"


class DocumentType(str, enum.Enum):
    """What a document is, as the uploader declares it (``document_type`` form field)."""

    GENERAL = "general"
    MEDICAL_REPORT = "medical_report"
    PAY_SLIP = "pay_slip"
    IDENTITY = "identity"
    EMPLOYMENT = "employment"
    BANK = "bank"
    LEGAL = "legal"
    OTHER = "other"


class CallDetails(pydantic.BaseModel):
    """A case's call: the ``transcript`` text and the ``messages`` list (objects, e.g. ``{role, content}``)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    transcript: str = pydantic.Field(default="", max_length=MAX_TRANSCRIPT_CHARS)
    messages: list[dict[str, Any]] = pydantic.Field(default_factory=list, max_length=MAX_MESSAGES)


class CaseCreate(pydantic.BaseModel):
    """Body of ``POST /cases``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    title: str = pydantic.Field(min_length=1, max_length=MAX_TITLE_CHARS)
    call_details: CallDetails | None = None

    @pydantic.field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        value = visible_strip(value)  # zero-width or control characters alone are blank too
        if not value:
            raise ValueError("must not be blank")
        return value


class AnalysisField(str, enum.Enum):
    """The case columns an analysis job writes back."""

    CALL_SUMMARY = "call_summary"
    AGENT_ANALYSIS = "agent_analysis"
    FINAL_DOCUMENT_ANALYSIS = "final_document_analysis"


@dataclass(frozen=True)
class Case:
    """One case as the repository returns it (a snapshot)."""

    case_id: str
    owner_id: str
    title: str
    status: str
    call_details: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    call_summary: dict[str, Any] | None = None
    agent_analysis: dict[str, Any] | None = None
    final_document_analysis: dict[str, Any] | None = None
    document_count: int = 0
    number: int = 0

    @property
    def transcript(self) -> str:
        """The call transcript, or '' when the case has none."""
        value = self.call_details.get("transcript")
        return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class CaseDocument:
    """One uploaded document; ``text`` is loaded only when asked for (it can be large)."""

    document_id: str
    case_id: str
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    document_type: str
    page_count: int | None
    text_found: bool
    text_chars: int
    uploaded_by: str
    created_at: datetime
    text: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CaseSummary:
    """One case as a list shows it: what the repository reads without the transcript, the messages
    or the analyses (a list of big cases must not load them)."""

    case_id: str
    owner_id: str
    title: str
    status: str
    created_at: datetime
    updated_at: datetime
    has_transcript: bool = False
    has_call_summary: bool = False
    has_agent_analysis: bool = False
    has_final_document_analysis: bool = False
    document_count: int = 0
    number: int = 0


@dataclass(frozen=True)
class CasePage:
    """One page of cases, newest first; ``next_before`` (the id of its last case) is None on the last page."""

    cases: list[CaseSummary]
    next_before: str | None


def case_view(case: Case) -> dict[str, Any]:
    """The full public view of a case (``GET /cases/{id}``), shaped by ``CaseView``."""
    return CaseView(
        case_id=case.case_id,
        user_id=case.owner_id,
        title=case.title,
        status=case.status,
        call_details=case.call_details,
        call_summary=case.call_summary,
        agent_analysis=case.agent_analysis,
        final_document_analysis=case.final_document_analysis,
        documents_count=case.document_count,
        created_at=case.created_at,
        updated_at=case.updated_at,
    ).model_dump(mode="json")


def case_summary_view(case: CaseSummary) -> dict[str, Any]:
    """The short view of a case in ``GET /cases`` (no transcript, no analyses), shaped by ``CaseSummaryView``."""
    return CaseSummaryView(
        case_id=case.case_id,
        user_id=case.owner_id,
        title=case.title,
        status=case.status,
        has_transcript=case.has_transcript,
        has_call_summary=case.has_call_summary,
        has_agent_analysis=case.has_agent_analysis,
        has_final_document_analysis=case.has_final_document_analysis,
        documents_count=case.document_count,
        created_at=case.created_at,
        updated_at=case.updated_at,
    ).model_dump(mode="json")


def document_view(document: CaseDocument, *, with_text: bool = False) -> dict[str, Any]:
    """The public view of a document (``DocumentView``); ``text`` only when ``with_text`` (``DocumentWithText``)."""
    fields: dict[str, Any] = {
        "document_id": document.document_id,
        "case_id": document.case_id,
        "file_name": document.file_name,
        "content_type": document.content_type,
        "size_bytes": document.size_bytes,
        "sha256": document.sha256,
        "document_type": document.document_type,
        "page_count": document.page_count,
        "text_found": document.text_found,
        "text_chars": document.text_chars,
        "uploaded_by": document.uploaded_by,
        "created_at": document.created_at,
    }
    if with_text:
        return DocumentWithText(**fields, text=document.text).model_dump(mode="json")
    return DocumentView(**fields).model_dump(mode="json")
