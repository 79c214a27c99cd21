"""``CaseServices``: the case repository and the document extractor, built once per Application."""

from __future__ import annotations

from dataclasses import dataclass

from server.cases.extraction_pool import DocumentExtractor, ExtractionLimits
from server.cases.repository import CaseRepository
from server.cases.sql import SqlCaseRepository
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
        """The repository on ``settings.url`` (opened lazily or by ``open``; it migrates the schema
        there unless ``settings.migrate_on_start`` is False, production) and an extractor."""
        repository = SqlCaseRepository(settings.url, pool_size=settings.db_pool_size,
                                       statement_timeout_seconds=settings.db_statement_timeout_seconds,
                                       migrate_on_open=settings.migrate_on_start,
                                       readiness_interval_seconds=settings.db_readiness_interval_seconds)
        limits = ExtractionLimits(settings.extraction_workers, settings.extraction_memory_mb * 1024 * 1024,
                                  settings.extraction_timeout_seconds, settings.extraction_per_user)
        return cls(repository, DocumentExtractor(limits), settings)

    async def open(self) -> None:
        """Open the database and migrate (or, in production, verify) its schema (start-up).

        Raises:
            ConfigError: database unreachable or schema not current (see ``SqlCaseRepository.open``).
        """
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
