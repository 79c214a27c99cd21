"""LLMSettings validation and ProviderSet construction, description and closing."""

from __future__ import annotations

import pytest

from server.analysis.inputs import AnalysisKind
from server.analysis.providers.config import LLMSettings
from server.analysis.providers.registry import ProviderSet
from server.errors import ConfigError

KEYS = {"OPENAI_API_KEY": "sk-secret-1", "ANTHROPIC_API_KEY": "sk-ant-secret-2"}


def test_settings_defaults_without_keys_fall_back_to_offline():
    settings = LLMSettings.from_env({})
    assert set(settings.providers.values()) == {"offline"}
    assert settings.timeout_seconds == 120 and settings.max_retries == 2
    assert settings.fallbacks == tuple(AnalysisKind)


def test_settings_with_keys_use_seed_defaults():
    settings = LLMSettings.from_env(KEYS, production=True)
    assert settings.providers == {
        AnalysisKind.CALL_ANALYSIS: "openai",
        AnalysisKind.DOCUMENT_ANALYSIS_AGENT: "anthropic",
        AnalysisKind.DOCUMENT_ANALYSIS_FORM7801: "openai",
    }
    assert "secret" not in repr(settings)


def test_settings_production_missing_key_is_config_error():
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        LLMSettings.from_env({"OPENAI_API_KEY": "k"}, production=True)


def test_settings_production_offline_override_needs_no_key():
    env = {"OPENAI_API_KEY": "k", "PROVIDER_DOCUMENT_ANALYSIS_AGENT": "offline"}
    assert LLMSettings.from_env(env, production=True).providers[AnalysisKind.DOCUMENT_ANALYSIS_AGENT] == "offline"


@pytest.mark.parametrize("name, value, expected", [
    ("PROVIDER_CALL_ANALYSIS", "gemini", "PROVIDER_CALL_ANALYSIS must be one of"),
    ("LLM_TIMEOUT_SECONDS", "soon", "LLM_TIMEOUT_SECONDS must be a number"),
    ("LLM_TIMEOUT_SECONDS", "0", "LLM_TIMEOUT_SECONDS must be between"),
    ("LLM_MAX_RETRIES", "1.5", "LLM_MAX_RETRIES must be an integer"),
    ("LLM_MAX_OUTPUT_TOKENS", "10", "LLM_MAX_OUTPUT_TOKENS must be between"),
    ("OPENAI_BASE_URL", "127.0.0.1:8700", "OPENAI_BASE_URL must be an http"),
])
def test_settings_bad_value_is_config_error(name, value, expected):
    with pytest.raises(ConfigError, match=expected):
        LLMSettings.from_env({**KEYS, name: value})


def test_settings_reads_models_and_urls():
    settings = LLMSettings.from_env({**KEYS, "OPENAI_MODEL": "gpt-5.4-mini", "ANTHROPIC_BASE_URL": "http://h:1"})
    assert settings.openai_model == "gpt-5.4-mini" and settings.anthropic_base_url == "http://h:1"


@pytest.mark.gen_test(timeout=10)
async def test_provider_set_describe_names_provider_and_model_not_keys():
    providers = ProviderSet.build(LLMSettings.from_env({"OPENAI_API_KEY": "sk-secret-1"}))
    described = providers.describe()
    assert described == {
        "call_analysis": {"provider": "openai", "model": "gpt-5.5"},
        "document_analysis_agent": {"provider": "offline", "model": "offline-extractive-1"},
        "document_analysis_form7801": {"provider": "openai", "model": "gpt-5.5"},
    }
    assert providers.for_kind(AnalysisKind.CALL_ANALYSIS) is providers.for_kind(AnalysisKind.DOCUMENT_ANALYSIS_FORM7801)
    await providers.aclose()
    await providers.aclose()  # idempotent


# The same test twice, each on its own fresh IOLoop: a client bound to a closed loop would fail.
@pytest.mark.parametrize("round_", [1, 2])
@pytest.mark.gen_test(timeout=20)
async def test_provider_set_works_on_fresh_loops(round_, fake_llm, llm_settings, analysis_input, progress):
    providers = ProviderSet.build(llm_settings)
    for kind in AnalysisKind:
        outcome = await providers.for_kind(kind).analyze(kind, analysis_input, progress)
        assert outcome.provider in ("openai", "anthropic")
    await providers.aclose()
    assert len(fake_llm.requests) == 3
