"""What an analysis reads: the agreed interface between the job functions and the provider layer."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class AnalysisKind(str, enum.Enum):
    """The three analyses; the values are the job types."""

    CALL_ANALYSIS = "call_analysis"
    DOCUMENT_ANALYSIS_AGENT = "document_analysis_agent"
    DOCUMENT_ANALYSIS_FORM7801 = "document_analysis_form7801"


@dataclass(frozen=True)
class DocumentInput:
    """One document as the model sees it (text already cut to the budget)."""

    document_id: str
    file_name: str
    document_type: str
    text: str


@dataclass(frozen=True)
class AnalysisInput:
    """The input of one analysis; ``truncated`` is True when any text was cut to fit the budget."""

    case_id: str
    transcript: str
    documents: tuple[DocumentInput, ...]
    truncated: bool = False
