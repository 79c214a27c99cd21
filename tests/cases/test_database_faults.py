"""Database faults: unreachable at start (exit 2, one line, URL masked), lost while running (503
``database_unavailable`` with ``Retry-After``, ``/readyz`` failing, the pool reconnecting by
itself once PostgreSQL is back), and a schema production must not migrate itself."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from server.cases.sql import SqlCaseRepository
from server.config import Settings
from tests import postgres
from tests.conftest import migrate_command

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "database-fault-test-secret-0123456789-abcdef"
PASSWORD = "hunter2-very-secret"
PRODUCTION = {"APP_ENV": "production", "JWT_SECRET": SECRET, "OPENAI_API_KEY": "sk-test",
              "ANTHROPIC_API_KEY": "sk-ant-test"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_server(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full_env = {name: value for name, value in os.environ.items() if name not in ("CASES_DB", "DATABASE_URL")}
    full_env.update({"PORT": str(free_port()), **env})
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, env=full_env,  # noqa: S603
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("mode", [{"APP_ENV": "development"}, PRODUCTION])
def test_database_unreachable_at_start_exits_2_with_one_masked_line(mode):
    port = free_port()  # nothing listens there
    done = run_server({**mode, "DATABASE_URL": f"postgres://cases:{PASSWORD}@127.0.0.1:{port}/cases"})
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "DATABASE_URL" in line]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert errors[0].startswith("configuration error: cannot reach the case database")
    assert f"DATABASE_URL=postgresql+asyncpg://cases:***@127.0.0.1:{port}/cases" in errors[0]
    assert PASSWORD not in done.stderr + done.stdout


def test_production_refuses_an_empty_schema_until_migrate_runs(postgres_server):
    name = postgres_server.create_database("template0")
    url = postgres_server.url(name, scheme="postgres")
    refused = run_server({**PRODUCTION, "DATABASE_URL": url})
    assert refused.returncode == 2 and "python -m server migrate" in refused.stderr, refused.stderr[-2000:]
    migrate_command(url, **PRODUCTION)

    async def verify() -> None:
        repository = SqlCaseRepository(postgres_server.url(name), migrate_on_open=False)
        await repository.open()  # production's check passes now
        await repository.aclose()

    asyncio.run(verify())
    postgres_server.drop_database(name)


def test_production_refuses_sqlite_unless_allowed(tmp_path):
    refused = run_server({**PRODUCTION, "CASES_DB": str(tmp_path / "cases.db")}, "migrate")
    assert refused.returncode == 2 and "ALLOW_SQLITE_IN_PRODUCTION=1" in refused.stderr
    allowed = run_server({**PRODUCTION, "CASES_DB": str(tmp_path / "cases.db"), "ALLOW_SQLITE_IN_PRODUCTION": "1"},
                         "migrate")
    assert allowed.returncode == 0, allowed.stderr[-2000:]


@pytest.fixture
def own_postgres() -> Iterator[postgres.PostgresServer]:
    """A PostgreSQL server of this test alone, so stopping it disturbs no other test."""
    if not postgres.binaries_available():
        pytest.skip(postgres.INSTALL_HINT)
    server = postgres.PostgresServer().initdb().start()
    yield server
    server.cleanup()


@pytest.fixture
def case_db_url(own_postgres: postgres.PostgresServer) -> str:
    return own_postgres.url("postgres")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, cases=dataclasses.replace(settings.cases, db_readiness_interval_seconds=0))


async def wait_for_status(api, path: str, status: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (await api.get(path, timeout=10)).status != status:
        assert time.monotonic() < deadline, f"{path} never answered {status}"
        await asyncio.sleep(0.2)


@pytest.mark.gen_test(timeout=120)
async def test_postgres_lost_while_running_is_503_then_reconnects(api, own_postgres):
    created = await api.post("/cases", body={"title": "before the outage"})
    assert created.status == 201
    location = created.headers["Location"]
    assert (await api.get("/readyz", user=None)).status == 200

    own_postgres.stop()
    for method, path, body in (("GET", location, None), ("GET", "/cases", None),
                               ("POST", "/cases", {"title": "during"})):
        started = time.monotonic()
        reply = await api.request(method, path, body=body, timeout=20)
        assert reply.status == 503, (path, reply.status, reply.json)
        assert reply.json["code"] == "database_unavailable" and int(reply.headers["Retry-After"]) > 0
        assert time.monotonic() - started < 15  # answered, never hung
    ready = await api.get("/readyz", user=None)
    assert ready.status == 503 and ready.json["checks"]["database"] == "failing"

    own_postgres.restart()
    await wait_for_status(api, location, 200)  # the pool replaced its dead connections by itself
    assert (await api.get(location)).json["title"] == "before the outage"
    assert (await api.post("/cases", body={"title": "after"})).status == 201
    await wait_for_status(api, "/readyz", 200)


@pytest.mark.gen_test(timeout=120)
async def test_postgres_restart_costs_the_next_requests_nothing(api, own_postgres):
    """The pool's connections die with the restart; the first request after it (with no request
    in between to notice) still succeeds, because each checkout pings its connection first."""
    created = await api.post("/cases", body={"title": "before the restart"})
    assert created.status == 201
    location = created.headers["Location"]
    assert (await api.get("/readyz", user=None)).status == 200  # the pool holds live connections now

    own_postgres.stop()
    own_postgres.restart()
    first = await api.get(location, timeout=20)
    assert first.status == 200, first.json
    assert first.json["title"] == "before the restart"
    assert (await api.post("/cases", body={"title": "after the restart"})).status == 201
