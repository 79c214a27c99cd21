"""End-to-end analysis tests: the app's real ProviderSet and the real openai/anthropic SDKs talk over
HTTP to the fake provider server. Unlike ``tests/analysis``, nothing replaces the providers."""

from __future__ import annotations

import dataclasses

import pytest

from server.analysis.providers.config import LLMSettings
from server.config import Settings
from tests.fakes.fake_provider import FakeProviderServer

OPENAI_KEY = "sk-e2e-openai-key-0b1c2d"
ANTHROPIC_KEY = "sk-ant-e2e-anthropic-key-3e4f5a"


@pytest.fixture
def llm_env() -> dict[str, str]:
    """Extra LLM environment variables; a test overrides it with ``@pytest.mark.parametrize("llm_env", ...)``."""
    return {}


@pytest.fixture
def llm_settings(fake_llm: FakeProviderServer, llm_env: dict[str, str]) -> LLMSettings:
    """Both vendors pointed at ``fake_llm`` (1 s timeout, 2 retries), read as the server reads its environment."""
    return LLMSettings.from_env({
        "OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "OPENAI_BASE_URL": fake_llm.openai_base_url, "ANTHROPIC_BASE_URL": fake_llm.anthropic_base_url,
        "LLM_TIMEOUT_SECONDS": "1", "LLM_MAX_RETRIES": "2", **llm_env,
    })


@pytest.fixture
def settings(settings: Settings, llm_settings: LLMSettings) -> Settings:
    """The shared test settings with the LLM settings above (default provider per job type)."""
    return dataclasses.replace(settings, llm=llm_settings)

