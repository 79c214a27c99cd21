"""The PostgreSQL half of the suite: skipped with an install hint where the server binaries are
missing, but a failure under ``CI=true`` (CI must not silently lose it)."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = "tests/cases/test_repository.py::test_repository_persists_across_reopen[postgresql]"


def start_without_binaries(ci: str) -> subprocess.Popen[str]:
    """A child pytest running ``TARGET`` with no PostgreSQL binaries and ``CI=ci``."""
    env = {**os.environ, "POSTGRES_BIN_DIR": "/nonexistent/postgresql/bin", "CI": ci}
    # -n 0: one test in this process, not pytest.ini's parallel workers (they would only add start-up time).
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-n", "0",  # noqa: S603
                             TARGET], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_postgres_tests_without_binaries_skip_with_hint_or_fail_under_ci():
    # Both children at once: each spends seconds importing the app, and they share nothing.
    children = [start_without_binaries(""), start_without_binaries("true")]
    try:
        (local, _), (ci, _) = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    local_status, ci_status = (child.returncode for child in children)
    assert local_status == 0 and "1 skipped" in local, local[-2000:]
    assert "apt-get install postgresql" in local
    assert ci_status != 0 and "CI=true but PostgreSQL server binaries not found" in ci, ci[-2000:]
