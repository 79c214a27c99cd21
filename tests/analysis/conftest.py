"""Fixtures of the analysis tests: scripted providers plugged into the app, the fake LLM server,
providers pointed at it, and a recording progress callback."""

from __future__ import annotations

import dataclasses

import pytest

from server.analysis.inputs import AnalysisInput, DocumentInput
from server.analysis.providers.config import LLMSettings
from server.config import Settings
from server.services import Services
from tests.analysis.doubles import ScriptedProviders
from tests.fakes.fake_provider import FakeProviderServer

USER_ID = "user-7f3a9c"


@pytest.fixture
def settings(settings: Settings, case_db_url: str) -> Settings:
    """The analysis API tests run once on SQLite and once on PostgreSQL."""
    return dataclasses.replace(settings, cases=dataclasses.replace(settings.cases, database_url=case_db_url))


@pytest.fixture
def providers() -> ScriptedProviders:
    return ScriptedProviders()


@pytest.fixture
def services(services: Services, providers: ScriptedProviders) -> Services:
    services.analysis.providers = providers
    return services


@pytest.fixture
def llm_settings(fake_llm: FakeProviderServer) -> LLMSettings:
    """Settings pointing both vendors at ``fake_llm``: 1 s timeout, 2 retries, fake keys."""
    return LLMSettings.from_env({
        "OPENAI_API_KEY": "sk-test", "ANTHROPIC_API_KEY": "sk-ant-test",
        "OPENAI_BASE_URL": fake_llm.openai_base_url, "ANTHROPIC_BASE_URL": fake_llm.anthropic_base_url,
        "LLM_TIMEOUT_SECONDS": "1", "LLM_MAX_RETRIES": "2",
    })


@pytest.fixture
def analysis_input() -> AnalysisInput:
    """A small English case; the case id stands in for personal ids that must not be sent."""
    return AnalysisInput(
        case_id=USER_ID,
        transcript="TRANSCRIPT-MARKER: I injured my back at work. My doctor wrote a medical report.",
        documents=(DocumentInput("doc-1", "moshe_cohen_report.pdf", "medical_report",
                                 "DOCUMENT-MARKER: Diagnosis: lumbar disc herniation. Disability 40%."),),
    )


class ProgressLog:
    """A progress callback that records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.codes: list[str | None] = []

    async def __call__(self, percent: int, message: str, code: str | None = None, params=None) -> None:
        self.calls.append((percent, message))
        self.codes.append(code)


@pytest.fixture
def progress() -> ProgressLog:
    """A recording progress callback."""
    return ProgressLog()
