"""Settings on pydantic-settings (issue 12): every problem in one message, secrets in neither the
messages nor the repr, and only the environment handed over is read."""

from __future__ import annotations

import pytest

from server.analysis.providers.config import LLMSettings
from server.config import Settings
from server.errors import ConfigError

SECRET = "s3cret-" + "x" * 40
SECRETS = {
    "JWT_SECRET": SECRET,
    "METRICS_TOKEN": "metrics-token-" + "y" * 20,
    "OPENAI_API_KEY": "sk-openai-zzzzzzzzzzzzzzzz",
    "ANTHROPIC_API_KEY": "sk-ant-wwwwwwwwwwwwwwww",
    "DATABASE_URL": "postgres://app:dbpassword123@db.internal/cases",
    "REDIS_URL": "redis://:redispassword456@redis.internal:6379/0",
}
SECRET_TEXTS = ("s3cret-", "metrics-token-", "sk-openai-", "sk-ant-", "dbpassword123", "redispassword456")


def test_settings_environment_repr_shows_no_secret():
    settings = Settings.from_env(SECRETS)
    assert settings.auth.key == SECRET and settings.store.url == SECRETS["REDIS_URL"]  # read, and kept
    shown = repr(settings)
    assert not [text for text in SECRET_TEXTS if text in shown]


def test_settings_environment_messages_show_no_secret():
    bad = {**SECRETS, "JWT_SECRET": "s3cret-short", "METRICS_TOKEN": "metrics-token-", "DATABASE_URL":
           "mysql://app:dbpassword123@db/cases", "REDIS_URL": "http://:redispassword456@redis/0"}
    with pytest.raises(ConfigError) as problem:
        Settings.from_env(bad)
    message = str(problem.value)
    assert message.startswith("4 configuration problems:")
    for variable in ("JWT_SECRET", "METRICS_TOKEN", "DATABASE_URL", "REDIS_URL"):
        assert variable in message
    assert not [text for text in SECRET_TEXTS if text in message]


def test_settings_environment_reports_every_problem_of_a_group_at_once():
    with pytest.raises(ConfigError) as problem:
        Settings.from_env({"CORS_ORIGINS": "*, https://a.example", "MAX_JSON_BODY_BYTES": "10",
                           "JOB_TTL_SECONDS": "0", "JOB_CONCURRENCY_CALL_ANALYSIS": "none", "PORT": "x"})
    lines = str(problem.value).splitlines()
    assert lines[0] == "5 configuration problems:"
    assert lines[1:] == [
        "  - JOB_TTL_SECONDS must be >= 1, got 0",
        "  - JOB_CONCURRENCY_CALL_ANALYSIS must be an integer, got 'none'",
        "  - MAX_JSON_BODY_BYTES must be >= 1024 and <= 67108864, got 10",
        "  - CORS_ORIGINS is either * or a list of origins, not both",
        "  - PORT must be an integer, got 'x'",
    ]


def test_settings_environment_reads_only_what_it_is_given(monkeypatch):
    monkeypatch.setenv("JOB_TTL_SECONDS", "not a number")
    monkeypatch.setenv("JWT_SECRET", "short")
    assert Settings.from_env({}).jobs.ttl_seconds == 86400


def test_settings_environment_blank_values_are_unset():
    settings = Settings.from_env({"JOB_TTL_SECONDS": "  ", "HOST": "", "LLM_MAX_RETRIES": " "})
    assert settings.jobs.ttl_seconds == 86400 and settings.llm.max_retries == 2
    assert settings.host == "0.0.0.0"  # noqa: S104  # the default: every interface


def test_settings_environment_llm_production_lists_every_missing_key():
    with pytest.raises(ConfigError) as problem:
        LLMSettings.from_env({}, production=True)
    message = str(problem.value)
    assert message.startswith("3 configuration problems:")
    assert "OPENAI_API_KEY is required in production: PROVIDER_CALL_ANALYSIS selects openai" in message
    assert "ANTHROPIC_API_KEY is required in production: PROVIDER_DOCUMENT_ANALYSIS_AGENT" in message


@pytest.mark.parametrize("raw", ["nan", "inf", "1e400"])
def test_settings_environment_seconds_must_be_finite(raw):
    """``nan`` passed both bounds and ``inf`` the lower one: JOB_LEASE_SECONDS=inf made every claim on
    Redis fail (a lease is sent in whole ms: OverflowError) and, like nan, a memory-store lease that
    never runs out, so a lost job was never taken over."""
    with pytest.raises(ConfigError, match="JOB_LEASE_SECONDS must be a finite number of seconds"):
        Settings.from_env({"JOB_LEASE_SECONDS": raw})
