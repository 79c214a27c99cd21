"""What the server adds to a validated analysis before it is saved: facts the model cannot know.

- ``provenance``: who produced it, and ``demo: true`` for the offline analyzer, so every place the
  analysis appears (job result, saved case column) can say that no language model was used.
- Requested documents the case already holds are marked ``uploaded`` (by ``document_type``),
  whatever the model said: a document in the case is never listed as missing.
- ``filing_readiness`` of a Form 7801 analysis (``server.analysis.readiness``).
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from server.analysis.inputs import AnalysisKind
from server.analysis.readiness import filing_readiness

DEMO_PROVIDER = "offline"


def provenance(provider: str, model: str) -> dict[str, Any]:
    """``{"provider", "model", "demo"}``; ``demo`` is True for the offline (demo) analyzer."""
    return {"provider": provider, "model": model, "demo": provider == DEMO_PROVIDER}


def mark_held_documents(analysis: dict[str, Any], held_types: Set[str]) -> dict[str, Any]:
    """The call analysis with ``uploaded: true`` on every requested document whose
    ``document_type`` the case holds. An ``uploaded`` flag already true stays true."""
    items = [
        {**item, "uploaded": bool(item.get("uploaded")) or item.get("document_type") in held_types}
        for item in analysis.get("documents_requested_list", [])
    ]
    return {**analysis, "documents_requested_list": items}


def annotate(kind: AnalysisKind, analysis: dict[str, Any], provider: str, model: str,
             held_types: Set[str]) -> dict[str, Any]:
    """The validated ``analysis`` (JSON data) of ``kind`` with the server's additions above."""
    result = dict(analysis)
    if kind is AnalysisKind.CALL_ANALYSIS:
        result = mark_held_documents(result, held_types)
    if kind is AnalysisKind.DOCUMENT_ANALYSIS_FORM7801:
        result["filing_readiness"] = filing_readiness(result)
    result["provenance"] = provenance(provider, model)
    return result
