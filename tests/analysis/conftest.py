"""Analysis tests: the fake LLM server and providers pointed at it (provider tests), and the app's
services with the scripted provider set plugged in (job and endpoint tests).

``io_loop`` replaces pytest-tornado's fixture of the same name, whose ``make_current()`` call is
deprecated in Tornado >= 6.2 and fails under ``-W error``; this one sets the asyncio loop instead.
"""


from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import tornado.ioloop

from server.analysis.inputs import AnalysisInput, DocumentInput
from server.analysis.providers.config import LLMSettings
from server.services import Services
from tests.analysis.doubles import ScriptedProviders
from tests.fakes.fake_provider import FakeProviderServer

USER_ID = "user-7f3a9c"


@pytest.fixture
def io_loop() -> Iterator[tornado.ioloop.IOLoop]:
    """A fresh IOLoop per test, without the deprecated make_current()."""
    loop = tornado.ioloop.IOLoop(make_current=False)
    asyncio.set_event_loop(loop.asyncio_loop)  # type: ignore[attr-defined]
    yield loop
    asyncio.set_event_loop(None)
    loop.close(all_fds=True)


@pytest.fixture
def fake_llm() -> Iterator[FakeProviderServer]:
    """A running fake OpenAI/Anthropic server on an ephemeral port (own thread)."""
    server = FakeProviderServer().start()
    yield server
    server.stop()


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

    async def __call__(self, percent: int, message: str) -> None:
        self.calls.append((percent, message))


@pytest.fixture
def progress() -> ProgressLog:
    """A recording progress callback."""
    return ProgressLog()


@pytest.fixture
def providers() -> ScriptedProviders:
    return ScriptedProviders()


@pytest.fixture
def services(services: Services, providers: ScriptedProviders) -> Services:
    services.analysis.providers = providers
    return services
