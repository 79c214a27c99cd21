"""The ops settings: validated once, production refuses dev conveniences, one process only."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from server.config import Settings
from server.errors import ConfigError

SECRET = "s" * 40
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_ops_defaults():
    settings = Settings.from_env({})
    assert settings.http.max_json_body_bytes == 1024 * 1024 and settings.http.cors_origins == ()
    assert settings.observability.log_format == "text" and settings.observability.log_level == "INFO"
    assert settings.observability.metrics_token is None and settings.web_concurrency == 1


def test_ops_values_are_read():
    settings = Settings.from_env({"CORS_ORIGINS": "https://app.example.org, http://localhost:5173/",
                                  "MAX_JSON_BODY_BYTES": "4096", "LOG_FORMAT": "JSON", "LOG_LEVEL": "debug",
                                  "METRICS_TOKEN": "m" * 20})
    assert settings.http.cors_origins == ("https://app.example.org", "http://localhost:5173")
    assert settings.http.max_json_body_bytes == 4096
    assert settings.observability.log_format == "json" and settings.observability.log_level == "DEBUG"
    assert settings.observability.metrics_token == "m" * 20


@pytest.mark.parametrize("env,variable", [
    ({"CORS_ORIGINS": "app.example.org"}, "CORS_ORIGINS"),
    ({"CORS_ORIGINS": "*, https://a.example"}, "CORS_ORIGINS"),
    ({"APP_ENV": "production", "JWT_SECRET": SECRET, "CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
    ({"MAX_JSON_BODY_BYTES": "1MB"}, "MAX_JSON_BODY_BYTES"),
    ({"MAX_JSON_BODY_BYTES": "10"}, "MAX_JSON_BODY_BYTES"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN"),
    ({"WEB_CONCURRENCY": "two"}, "WEB_CONCURRENCY"),
    ({"SHUTDOWN_GRACE_SECONDS": "soon"}, "SHUTDOWN_GRACE_SECONDS"),
])
def test_ops_bad_value_names_the_variable(env, variable):
    with pytest.raises(ConfigError) as problem:
        Settings.from_env(env)
    assert variable in str(problem.value)


def test_production_has_no_ephemeral_secret_and_no_dev_mode():
    settings = Settings.from_env({"APP_ENV": "production", "JWT_SECRET": SECRET, "ALLOW_SQLITE_IN_PRODUCTION": "1",
                                  "OPENAI_API_KEY": "sk-x", "ANTHROPIC_API_KEY": "sk-ant-x"})
    assert settings.production and not settings.dev_mode and not settings.auth.ephemeral


def run_server(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {name: value for name, value in os.environ.items() if name != "WEB_CONCURRENCY"}
    full_env.update({"JWT_SECRET": SECRET, **env})
    command = [sys.executable, "-m", "server", *args]  # our own interpreter and module
    return subprocess.run(command, cwd=ROOT, env=full_env, capture_output=True, text=True,  # noqa: S603
                          timeout=30, check=False)


@pytest.mark.parametrize("args,env", [(("--processes", "2"), {}), ((), {"WEB_CONCURRENCY": "2"})])
def test_more_than_one_process_is_refused_with_a_reason(args, env):
    done = run_server(*args, env=env)
    assert done.returncode == 2
    assert "configuration error" in done.stderr and "one process only" in done.stderr
    assert "invisible" in done.stderr and "WEB_CONCURRENCY" in done.stderr


def test_bad_setting_stops_the_server_naming_it():
    done = run_server(env={"MAX_JSON_BODY_BYTES": "lots"})
    assert done.returncode == 2 and "MAX_JSON_BODY_BYTES must be an integer" in done.stderr
