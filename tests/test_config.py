"""Settings validation: a bad value stops start-up with a message naming the variable."""

from __future__ import annotations

import pytest

from server.config import Settings
from server.errors import ConfigError

GOOD_SECRET = "x" * 32


def test_defaults_in_dev_make_an_ephemeral_secret():
    settings = Settings.from_env({})
    assert settings.auth.ephemeral and settings.dev_mode and len(settings.auth.key) >= 32
    assert settings.jobs.ttl_seconds == 86400 and settings.jobs.concurrency == 4
    assert settings.jobs.timeout_seconds == 600 and settings.jobs.max_stored_jobs == 100_000


@pytest.mark.parametrize("env,variable", [
    ({"JWT_SECRET": "short"}, "JWT_SECRET"),
    ({"APP_ENV": "production"}, "JWT_SECRET"),
    ({"APP_ENV": "staging"}, "APP_ENV"),
    ({"JOB_TTL_SECONDS": "a day"}, "JOB_TTL_SECONDS"),
    ({"JOB_CONCURRENCY": "0"}, "JOB_CONCURRENCY"),
    ({"JOB_TIMEOUT_SECONDS": "-1"}, "JOB_TIMEOUT_SECONDS"),
    ({"PORT": "70000"}, "PORT"),
    ({"JWT_PUBLIC_KEY": "not a pem"}, "JWT_PUBLIC_KEY"),
])
def test_bad_value_names_the_variable(env, variable):
    with pytest.raises(ConfigError) as problem:
        Settings.from_env(env)
    assert variable in str(problem.value)


def test_per_type_concurrency_override():
    settings = Settings.from_env({"JWT_SECRET": GOOD_SECRET, "JOB_CONCURRENCY_CALL_ANALYSIS": "2"})
    assert settings.jobs.concurrency_by_type == {"call_analysis": 2}
    assert not settings.auth.ephemeral


def test_production_reports_every_missing_setting_at_once():
    # Issue 16, item 10: one restart to learn the whole list, not one per missing setting.
    with pytest.raises(ConfigError) as problem:
        Settings.from_env({"APP_ENV": "production", "CORS_ORIGINS": "*", "JOB_TTL_SECONDS": "a day",
                           "JOB_CONCURRENCY": "0"})
    message = str(problem.value)
    assert message.startswith("7 configuration problems:")
    for expected in ("JWT_SECRET", "CORS_ORIGINS", "JOB_TTL_SECONDS", "JOB_CONCURRENCY", "DATABASE_URL",
                     "OPENAI_API_KEY is required in production: PROVIDER_CALL_ANALYSIS, "
                     "PROVIDER_DOCUMENT_ANALYSIS_FORM7801 select openai",
                     "ANTHROPIC_API_KEY is required in production: PROVIDER_DOCUMENT_ANALYSIS_AGENT selects anthropic"):
        assert expected in message, expected
    assert len(message.splitlines()) == 8  # the count, then one line per problem


def test_production_with_everything_set_starts():
    settings = Settings.from_env({"APP_ENV": "production", "JWT_SECRET": GOOD_SECRET, "OPENAI_API_KEY": "sk-1",
                                  "ANTHROPIC_API_KEY": "sk-ant-1", "DATABASE_URL": "postgres://app@db.internal/cases"})
    assert settings.production and not settings.llm.fallbacks
