"""The ``CaseRepository`` protocol: what handlers and job functions need of case storage.

The implementation is ``server.cases.sql.SqlCaseRepository`` (SQLAlchemy: SQLite or PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from server.cases.models import AnalysisField, Case, CaseDocument, CasePage

JsonTransform = Callable[[dict[str, Any] | None], dict[str, Any]]


class CaseRepository(Protocol):
    """Async access to cases and their documents. Every method may raise ``Unavailable``
    (``database_unavailable`` when the database is down, ``store_closed`` after ``aclose``)."""

    async def open(self) -> None:
        """Open the store and create or migrate its schema (idempotent)."""

    async def aclose(self) -> None:
        """Close the store; later calls fail."""

    async def ping(self) -> bool:
        """Readiness: True when the store takes a write (never raises)."""

    async def create_case(self, owner_id: str, title: str, call_details: dict[str, Any]) -> Case:
        """Create a case with status ``New``."""

    async def get_case(self, case_id: str) -> Case | None:
        """The case, or None when unknown."""

    async def list_cases(self, owner_id: str | None, before: str | None, limit: int) -> CasePage:
        """Case summaries newest first (no transcript, analyses or texts read); ``owner_id`` None lists
        every owner's (admins); ``before`` is the id of the previous page's last case (continue with
        the cases created before it). Raises ``Gone`` (``cursor_expired``) when that case is gone."""

    async def count_cases(self) -> int:
        """Number of cases in the store."""

    async def update_call_details(self, case_id: str, call_details: dict[str, Any]) -> Case | None:
        """Replace ``call_details``; None when the case is unknown."""

    async def save_analysis(self, case_id: str, column: AnalysisField, transform: JsonTransform,
                            status: str | None = None) -> Case | None:
        """Set ``column`` to ``transform(current value)`` (and ``status`` when given) in one transaction.

        ``transform`` runs inside the transaction, so a merge with the current value cannot lose a
        concurrent write. Returns None when the case no longer exists.
        """

    async def delete_case(self, case_id: str) -> bool:
        """Delete a case and its documents; False when unknown."""

    async def add_document(self, document: CaseDocument) -> CaseDocument | None:
        """Store a document (with its ``text``); None when its case no longer exists."""

    async def list_documents(self, case_id: str, *, with_text: bool = False) -> list[CaseDocument]:
        """Documents of a case, oldest first."""

    async def get_document(self, case_id: str, document_id: str) -> CaseDocument | None:
        """One document of a case with its text, or None."""

    async def delete_document(self, case_id: str, document_id: str) -> bool:
        """Delete one document of a case; False when unknown."""
