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


HEROKU_REDIS = "rediss://:p%40ss@ec2-1-2-3-4.compute-1.amazonaws.com:6380"


@pytest.mark.parametrize("env,url", [
    ({"REDIS_URL": HEROKU_REDIS}, HEROKU_REDIS),  # verified by default
    ({"REDIS_URL": HEROKU_REDIS, "JOB_STORE_TLS_VERIFY": "none"}, HEROKU_REDIS + "?ssl_cert_reqs=none"),
    ({"JOB_STORE_URL": HEROKU_REDIS + "/0?ssl_cert_reqs=required&health_check_interval=10",
      "JOB_STORE_TLS_VERIFY": "None", "REDIS_URL": "redis://other:6379"},
     HEROKU_REDIS + "/0?health_check_interval=10&ssl_cert_reqs=none"),
    ({"REDIS_URL": "redis://localhost:6379/0", "JOB_STORE_TLS_VERIFY": "none"}, "redis://localhost:6379/0"),  # no TLS
    ({"JOB_STORE_TLS_VERIFY": "none"}, "memory://"),
    ({"JOB_STORE_URL": HEROKU_REDIS + "?ssl_cert_reqs=none", "JOB_STORE_TLS_VERIFY": "required"},
     HEROKU_REDIS + "?ssl_cert_reqs=none"),  # a URL written by hand is used as it is
])
def test_job_store_tls_verify_none_applies_to_the_url_in_use(env, url):
    assert Settings.from_env(env).store.url == url


def test_job_store_tls_verify_refuses_other_values():
    with pytest.raises(ConfigError) as problem:
        Settings.from_env({"REDIS_URL": HEROKU_REDIS, "JOB_STORE_TLS_VERIFY": "off"})
    assert str(problem.value) == "JOB_STORE_TLS_VERIFY must be one of required, none; got 'off'"


def test_job_store_tls_verify_none_reaches_redis_py():
    """redis-py takes the setting from the URL: its TLS connections then skip the certificate check."""
    import ssl

    import redis.asyncio

    url = Settings.from_env({"REDIS_URL": HEROKU_REDIS, "JOB_STORE_TLS_VERIFY": "none"}).store.url
    client = redis.asyncio.from_url(url)
    assert client.connection_pool.make_connection().ssl_context.cert_reqs == ssl.CERT_NONE
    verified = redis.asyncio.from_url(Settings.from_env({"REDIS_URL": HEROKU_REDIS}).store.url)
    assert verified.connection_pool.make_connection().ssl_context.cert_reqs == ssl.CERT_REQUIRED
