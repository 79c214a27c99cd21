"""Response models of the case and document endpoints (the OpenAPI document's schemas).

``server.cases.models`` builds its views through these, so the document and the answers share
one definition. Times are ISO 8601 UTC with ``Z``.
"""

from __future__ import annotations

from typing import Any

import pydantic

from server.views import Timestamp


class CaseSummaryView(pydantic.BaseModel):
    """A case in ``GET /cases``: no transcript, no analyses, flags saying which exist."""

    case_id: str
    user_id: str = pydantic.Field(description="The owner.")
    title: str
    status: str
    has_transcript: bool
    has_call_summary: bool
    has_agent_analysis: bool
    has_final_document_analysis: bool
    documents_count: int = pydantic.Field(ge=0)
    created_at: Timestamp
    updated_at: Timestamp


class CaseView(pydantic.BaseModel):
    """A full case (``GET /cases/{case_id}``): call details and the analyses written back to it."""

    case_id: str
    user_id: str = pydantic.Field(description="The owner.")
    title: str
    status: str
    call_details: dict[str, Any] = pydantic.Field(description="{transcript, messages}")
    call_summary: dict[str, Any] | None = pydantic.Field(description="Latest call analysis (CallAnalysis).")
    agent_analysis: dict[str, Any] | None = pydantic.Field(description="Latest AgentDocumentAnalysis.")
    final_document_analysis: dict[str, Any] | None = pydantic.Field(description="Latest Form7801Analysis.")
    documents_count: int = pydantic.Field(ge=0)
    created_at: Timestamp
    updated_at: Timestamp


class CaseList(pydantic.BaseModel):
    """``GET /cases``: one page, newest first; ``count`` is the number on this page, not a total."""

    cases: list[CaseSummaryView]
    count: int = pydantic.Field(ge=0, description="Number of cases in this answer (not a total).")
    next_cursor: str | None = pydantic.Field(description="Pass as `cursor` for the next page; null on the last.")


class DocumentView(pydantic.BaseModel):
    """An uploaded document's record (its text only from ``GET /cases/{case_id}/documents/{document_id}``)."""

    document_id: str
    case_id: str
    file_name: str
    content_type: str = pydantic.Field(description="Detected from the content, not the upload's header.")
    size_bytes: int = pydantic.Field(ge=0, description="Bytes.")
    sha256: str
    document_type: str = pydantic.Field(description="general, medical_report, pay_slip, identity, employment, "
                                                    "bank, legal or other.")
    page_count: int | None
    text_found: bool
    text_chars: int = pydantic.Field(ge=0)
    uploaded_by: str
    created_at: Timestamp


class DocumentWithText(DocumentView):
    """A document with its extracted ``text``."""

    text: str | None


class DocumentUploaded(DocumentView):
    """The 201 answer to an upload: the record plus extraction ``warnings``."""

    warnings: list[str]


class DocumentList(pydantic.BaseModel):
    """``GET /cases/{case_id}/documents``: every document of the case (no text)."""

    documents: list[DocumentView]
    count: int = pydantic.Field(ge=0, description="Number of documents in this answer.")
