"""Fitting the transcript and documents into the provider budget (``ANALYSIS_MAX_INPUT_CHARS``).

The rule, applied when the texts together are longer than the budget:

1. The transcript and every document are one text each; the budget is shared among them with a
   max-min fair split: texts shorter than an equal share keep everything, and what they leave
   unused is shared again among the longer ones.
2. A text longer than its share keeps its beginning and ends with the marker
   ``[... truncated: N characters omitted]`` (the marker counts toward the share).
3. Document order and identity never change; a document cut to nothing still appears, so the
   model knows it exists. The analysis input, the job result and the case say ``truncated: true``.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.analysis.inputs import AnalysisInput, DocumentInput
from server.cases.models import CaseDocument

MARKER = "\n[... truncated: {omitted} characters omitted]"


def fair_shares(lengths: Sequence[int], budget: int) -> list[int]:
    """Max-min fair allocation of ``budget`` characters to texts of ``lengths``."""
    shares = [0] * len(lengths)
    remaining = budget
    order = sorted(range(len(lengths)), key=lambda index: lengths[index])
    for position, index in enumerate(order):
        share = remaining // (len(order) - position)
        shares[index] = min(lengths[index], share)
        remaining -= shares[index]
    return shares


def cut(text: str, share: int) -> str:
    """``text`` if it fits ``share``, else its beginning plus the truncation marker.

    A share smaller than the marker itself is exceeded by the marker (at most ~45 characters).
    """
    if len(text) <= share:
        return text
    keep = max(0, share - len(MARKER.format(omitted=len(text))))
    return text[:keep] + MARKER.format(omitted=len(text) - keep)


def build_input(case_id: str, transcript: str, documents: Sequence[CaseDocument], budget: int,
                document_types: Sequence[str] = ()) -> AnalysisInput:
    """The ``AnalysisInput`` for a case, cut to ``budget`` characters by the rule above.

    ``document_types`` (the types of every document the case holds) is passed through as is.
    """
    texts = [transcript] + [document.text or "" for document in documents]
    truncated = sum(len(text) for text in texts) > budget
    if truncated:
        shares = fair_shares([len(text) for text in texts], budget)
        texts = [cut(text, share) for text, share in zip(texts, shares, strict=True)]
    return AnalysisInput(
        case_id=case_id,
        transcript=texts[0],
        documents=tuple(DocumentInput(document.document_id, document.file_name, document.document_type, text)
                        for document, text in zip(documents, texts[1:], strict=True)),
        truncated=truncated,
        document_types=tuple(document_types),
    )
