"""What an analysis reads: the case's transcript and documents, already cut to the budget.

Only the text an analysis needs is here: no user ids, no owner, no uploader. A provider can
therefore not leak them into a prompt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pydantic import BaseModel

from server.analysis.schemas import (
    AgentDocumentAnalysis,
    CallAnalysis,
    Form7801Analysis,
)


class AnalysisKind(str, enum.Enum):
    """The three analyses; the value is the job type name of the seed API."""

    CALL_ANALYSIS = "call_analysis"
    DOCUMENT_ANALYSIS_AGENT = "document_analysis_agent"
    DOCUMENT_ANALYSIS_FORM7801 = "document_analysis_form7801"

    @property
    def schema(self) -> type[BaseModel]:
        """The pydantic model of this kind's ``analysis`` object."""
        return _SCHEMAS[self]


_SCHEMAS: dict[AnalysisKind, type[BaseModel]] = {
    AnalysisKind.CALL_ANALYSIS: CallAnalysis,
    AnalysisKind.DOCUMENT_ANALYSIS_AGENT: AgentDocumentAnalysis,
    AnalysisKind.DOCUMENT_ANALYSIS_FORM7801: Form7801Analysis,
}


@dataclass(frozen=True)
class DocumentInput:
    """One case document's extracted text.

    Args:
        document_id: the document's id (used to link results back, never sent to a provider).
        file_name: original file name (not sent to a provider: it may hold a person's name).
        document_type: e.g. ``medical_report``, ``pay_slip``, ``identity``, ``general``.
        text: extracted text, possibly cut to the budget.
    """

    document_id: str
    file_name: str
    document_type: str
    text: str


@dataclass(frozen=True)
class AnalysisInput:
    """Everything one analysis reads.

    Args:
        case_id: the case's id (for logs and results; never sent to a provider).
        transcript: the call transcript, possibly empty.
        documents: the documents with text, in the case's order.
        truncated: True if the caller cut the input to fit the provider budget.
        document_types: the type of every document the case holds, readable or not, in the
            case's order (the call analysis gets these instead of the documents' text).
    """

    case_id: str
    transcript: str
    documents: tuple[DocumentInput, ...] = ()
    truncated: bool = False
    document_types: tuple[str, ...] = ()

    @property
    def held_types(self) -> frozenset[str]:
        """Document types the case holds (listed, or among the documents read)."""
        return frozenset(self.document_types) | {doc.document_type for doc in self.documents}
