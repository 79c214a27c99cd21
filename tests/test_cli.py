"""The command line: ``python -m server token`` mints a token the server accepts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from server.auth import verify_token
from server.config import AuthSettings
from tests.conftest import TEST_SECRET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "APP_ENV"))}
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, env=full_env,  # noqa: S603
                          capture_output=True, text=True, timeout=60)


def test_cli_token_mints_an_admin_token_with_the_configured_secret():
    done = run_cli("token", "--sub", "alice", "--admin", "--ttl", "120", JWT_SECRET=TEST_SECRET)
    assert done.returncode == 0, done.stderr
    principal = verify_token(AuthSettings(key=TEST_SECRET, algorithms=("HS256",)), done.stdout.strip())
    assert principal.user_id == "alice" and principal.is_admin


@pytest.mark.parametrize("env,expected", [
    ({}, "JWT_SECRET"),
    ({"JWT_SECRET": "short"}, "JWT_SECRET must be at least 32 bytes"),
])
def test_cli_token_without_a_usable_secret_exits_2_naming_the_variable(env, expected):
    done = run_cli("token", "--sub", "alice", **env)
    assert done.returncode == 2 and expected in done.stderr and done.stdout == ""


def test_busy_port_is_a_one_line_error_exit_2(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("--port", str(port), HOST="127.0.0.1", CASES_DB=str(tmp_path / "cases.db"))
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr


def test_production_start_up_lists_every_problem_and_exits_2():
    result = run_cli(APP_ENV="production", PROVIDER_CALL_ANALYSIS="offline",
                     PROVIDER_DOCUMENT_ANALYSIS_FORM7801="offline")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "configuration error: 3 configuration problems:"
    assert "JWT_SECRET" in lines[1] and "DATABASE_URL" in lines[2] and "ANTHROPIC_API_KEY" in lines[3]
    assert "Traceback" not in result.stderr


def test_cli_migrate_logs_the_migration_without_alembic_plugin_noise(tmp_path):
    done = run_cli("migrate", CASES_DB=str(tmp_path / "cases.db"))
    assert done.returncode == 0, done.stderr
    assert "case database migrated from revision (empty)" in done.stderr
    assert "alembic.runtime.plugins" not in done.stderr and "setup plugin" not in done.stderr
