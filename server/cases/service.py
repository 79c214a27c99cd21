"""``CaseServices``: the case repository and the document extractor, built once per Application."""

from __future__ import annotations

from dataclasses import dataclass

from server.cases.extraction_pool import DocumentExtractor, ExtractionLimits
from server.cases.repository import CaseRepository
from server.cases.sqlite import SqliteCaseRepository
from server.config import CasesSettings


@dataclass
class CaseServices:
    """What the case and analysis handlers use.

    Attributes:
        repository: cases and documents.
        extractor: text extraction in a pool of worker processes.
        settings: the ``CasesSettings``.
    """

    repository: CaseRepository
    extractor: DocumentExtractor
    settings: CasesSettings

    @classmethod
    def from_settings(cls, settings: CasesSettings) -> CaseServices:
        """SQLite repository at ``settings.db_path`` (opened lazily or by ``open``) and an extractor."""
        limits = ExtractionLimits(settings.extraction_workers, settings.extraction_memory_mb * 1024 * 1024,
                                  settings.extraction_timeout_seconds, settings.extraction_per_user)
        return cls(SqliteCaseRepository(settings.db_path), DocumentExtractor(limits), settings)

    async def open(self) -> None:
        """Open the database and migrate its schema (start-up)."""
        await self.repository.open()

    async def aclose(self) -> None:
        """Close the database and stop the extraction pool (shutdown)."""
        await self.repository.aclose()
        self.extractor.close()

    def close(self) -> None:
        """Synchronous close for code without a running loop (test teardown)."""
        close = getattr(self.repository, "close", None)
        if close is not None:
            close()
        self.extractor.close()
