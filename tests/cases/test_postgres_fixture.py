"""The PostgreSQL half of the suite: skipped with an install hint where the server binaries are
missing, but a failure under ``CI=true`` (CI must not silently lose it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = "tests/cases/test_repository.py::test_repository_persists_across_reopen[postgresql]"


def start_without_binaries(ci: str, basetemp: Path) -> subprocess.Popen[str]:
    """A child pytest running ``TARGET`` with no PostgreSQL binaries and ``CI=ci``, its temporary
    files under ``basetemp`` (its own: pytest's shared numbered directories in /tmp are created and
    pruned by every session on the machine, and the child's end-of-session clean-up of them can fail)."""
    env = {**os.environ, "POSTGRES_BIN_DIR": "/nonexistent/postgresql/bin", "CI": ci}
    # -n 0: one test in this process, not pytest.ini's parallel workers (they would only add start-up time).
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-n", "0",  # noqa: S603
                             f"--basetemp={basetemp}", TARGET],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_postgres_tests_without_binaries_skip_with_hint_or_fail_under_ci(tmp_path):
    # Both children at once: each spends seconds importing the app, and they share nothing.
    children = [start_without_binaries("", tmp_path / "local"), start_without_binaries("true", tmp_path / "ci")]
    try:
        (local, local_err), (ci, ci_err) = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    local_status, ci_status = (child.returncode for child in children)
    # (Once on CI the local child exited 1 after its progress line, with no summary: the reason went
    # to its stderr, which the message now shows.)
    assert local_status == 0 and "1 skipped" in local, (local[-2000:], local_err[-3000:])
    assert "apt-get install postgresql" in local
    assert ci_status != 0 and "CI=true but PostgreSQL server binaries not found" in ci, (ci[-2000:], ci_err[-3000:])


def test_a_picked_port_taken_before_the_postmaster_binds_it_is_replaced(postgres_server):
    """Another process may bind the free port before the postmaster does: pg_ctl failed ("could not
    bind ... Address already in use") and the session's PostgreSQL tests all errored."""
    from tests import postgres

    late = postgres.PostgresServer().initdb()
    late.port = postgres_server.port  # taken, as by another process between picking and binding it
    try:
        late.start()
        assert late.port != postgres_server.port and late.psql("SELECT 1") == "1"
    finally:
        late.cleanup()


def test_a_start_that_fails_for_another_reason_says_why():
    """The port-taken check read the server log, which pg_ctl never wrote when it failed earlier (no
    cluster here): a FileNotFoundError for ``server.log`` hid pg_ctl's own error."""
    from tests import postgres

    if not postgres.binaries_available():
        pytest.skip(postgres.INSTALL_HINT)
    never_initialised = postgres.PostgresServer()
    try:
        with pytest.raises(RuntimeError, match="pg_ctl start failed.*does not exist"):
            never_initialised.start()
    finally:
        never_initialised.cleanup()
