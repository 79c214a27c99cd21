"""Shared fixtures: a real Tornado server per test (pytest-tornado) with its own Services.

``api`` is a small client that sends bearer tokens and never raises on HTTP errors, so tests
assert status and body themselves.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import tornado.ioloop
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from server.app import make_app
from server.auth import mint_token
from server.cases.database import sqlite_url
from server.config import AuthSettings, CasesSettings, JobSettings, Settings
from server.services import Services
from tests import postgres
from tests.fakes.fake_provider import FakeProviderServer

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture
def io_loop() -> Iterator[tornado.ioloop.IOLoop]:
    """A fresh IOLoop per test; replaces pytest-tornado's, whose ``make_current()`` is deprecated."""
    loop = tornado.ioloop.IOLoop(make_current=False)
    asyncio.set_event_loop(loop.asyncio_loop)  # type: ignore[attr-defined]
    yield loop
    asyncio.set_event_loop(None)
    loop.close(all_fds=True)


@pytest.fixture
def fake_llm() -> Iterator[FakeProviderServer]:
    """A running fake OpenAI/Anthropic server on an ephemeral port (own thread)."""
    server = FakeProviderServer().start()
    yield server
    server.stop()


CASES_TEMPLATE = "cases_template"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Every module is imported now and lives as long as the run: keep those objects out of every later
    garbage collection, as the server does at start-up (``gc.freeze``), so tests that collect on purpose
    (task references under GC pressure) cost the same whatever the SDKs and SQLAlchemy import."""
    gc.freeze()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """One throwaway PostgreSQL server per test session, with ``cases_template``: a database at the
    newest schema revision that each test's database is copied from.

    Without the binaries the test skips with how to install them; under ``CI=true`` that is a failure
    (CI must run the PostgreSQL half of the suite).
    """
    if not postgres.binaries_available():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {postgres.INSTALL_HINT}")
        pytest.skip(postgres.INSTALL_HINT)
    server = postgres.PostgresServer().initdb().start()
    try:
        server.psql(f'CREATE DATABASE "{CASES_TEMPLATE}" TEMPLATE template0')
        migrate_command(server.url(CASES_TEMPLATE, scheme="postgres"))
        yield server
    finally:
        server.cleanup()


def migrate_command(database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m server migrate`` on ``database_url``; raises when it fails."""
    full_env = {**os.environ, "APP_ENV": "test", "DATABASE_URL": database_url, **env}
    return subprocess.run([sys.executable, "-m", "server", "migrate"], env=full_env, capture_output=True,  # noqa: S603
                          text=True, timeout=60, check=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def case_db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The case database URL, once per database: a SQLite file in ``tmp_path``, or a fresh PostgreSQL
    database (at the newest schema) on the session's server, dropped after the test."""
    if request.param == "sqlite":
        yield sqlite_url(str(tmp_path / "cases.db"))
        return
    server: postgres.PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database(CASES_TEMPLATE)
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings with a fixed HS256 secret, small, fast limits and a per-test case database."""
    return Settings(auth=AuthSettings(key=TEST_SECRET, algorithms=("HS256",)),
                    jobs=JobSettings(timeout_seconds=30, concurrency=4),
                    cases=CasesSettings(db_path=str(tmp_path / "cases.db")))


@pytest.fixture
def services(settings: Settings, io_loop: tornado.ioloop.IOLoop):
    """The app's services. At teardown the server's own shutdown runs on the test's loop: jobs still
    running stop, then the closers close the database and the provider clients, so nothing leaks
    into the next test (pending tasks, open sqlite connections, HTTP clients of a closed loop)."""
    from server.app import build_services, shutdown

    services = build_services(settings)
    yield services
    io_loop.run_sync(lambda: shutdown(services, 0), timeout=60)  # a hung shutdown fails this test, not the run


@pytest.fixture
def app(services: Services):
    return make_app(services)


@dataclass
class Reply:
    """An HTTP reply: ``status``, ``headers``, raw ``body`` and ``json`` (None when empty)."""

    status: int
    headers: Any
    body: bytes
    json: Any = field(default=None)


@dataclass
class Api:
    """Test client against the pytest-tornado server."""

    base_url: str
    settings: Settings

    def token(self, user: str = "alice", admin: bool = False) -> str:
        return mint_token(self.settings.auth, user, admin=admin)

    async def request(self, method: str, path: str, *, user: str | None = "alice", admin: bool = False,
                      body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30) -> Reply:
        all_headers = dict(headers or {})
        if user is not None:
            all_headers.setdefault("Authorization", f"Bearer {self.token(user, admin)}")
        raw = body
        if body is not None and not isinstance(body, (bytes, str)):
            raw = json.dumps(body)
            all_headers.setdefault("Content-Type", "application/json")
        if raw is None and method in ("POST", "PUT"):
            raw = b""
        response: HTTPResponse = await AsyncHTTPClient().fetch(
            self.base_url + path, method=method, body=raw, headers=all_headers, raise_error=False,
            request_timeout=timeout, allow_nonstandard_methods=True)
        is_json = "json" in response.headers.get("Content-Type", "")  # the page route answers HTML
        parsed = json.loads(response.body) if response.body and is_json else None
        return Reply(response.code, response.headers, response.body, parsed)

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("POST", path, **kwargs)


@pytest.fixture
def api(base_url: str, settings: Settings, services: Services, http_server) -> Api:
    services.http_server = http_server  # as server.app.listen does: parked long-polls hand connections back
    return Api(base_url, settings)
