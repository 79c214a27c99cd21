"""``/readyz`` proves the case database takes writes (issue 11, item 8): a write round-trip, at most
once per interval, failing when the SQLite file is deleted or made read-only."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import stat

import pytest
import sqlalchemy as sa

from server.cases.database import sqlite_path
from server.cases.schema import readiness_probe
from server.cases.sql import SqlCaseRepository
from server.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, cases=dataclasses.replace(settings.cases, db_readiness_interval_seconds=0))


async def readiness(api) -> tuple[int, str]:
    reply = await api.get("/readyz", user=None)
    return reply.status, reply.json["checks"]["database"]


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("case_db_url", ["sqlite"], indirect=True)
async def test_readyz_fails_when_the_sqlite_file_is_deleted(api, settings):
    assert await readiness(api) == (200, "ok")
    created = await api.post("/cases", body={"title": "before"})
    assert created.status == 201
    os.remove(sqlite_path(settings.cases.url))
    assert await readiness(api) == (503, "failing")


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("case_db_url", ["sqlite"], indirect=True)
async def test_readyz_fails_while_the_sqlite_file_is_read_only_and_recovers(api, settings):
    assert await readiness(api) == (200, "ok")
    path = sqlite_path(settings.cases.url)
    mode = os.stat(path).st_mode
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        assert await readiness(api) == (503, "failing")
    finally:
        os.chmod(path, mode)
    assert await readiness(api) == (200, "ok")


async def probe_nonce(repo: SqlCaseRepository) -> str:
    async with repo._engine.connect() as conn:
        return str(await conn.scalar(sa.select(readiness_probe.c.nonce)))


@pytest.mark.gen_test(timeout=30)
async def test_readiness_probe_writes_at_most_once_per_interval(case_db_url):
    slow = SqlCaseRepository(case_db_url, readiness_interval_seconds=3600)
    assert await asyncio.gather(*(slow.ping() for _ in range(5))) == [True] * 5
    written = await probe_nonce(slow)
    assert written and await slow.ping() is True
    assert await probe_nonce(slow) == written  # the second call reused the first answer
    await slow.aclose()
    eager = SqlCaseRepository(case_db_url, readiness_interval_seconds=0)
    assert await eager.ping() is True
    assert await probe_nonce(eager) != written
    await eager.aclose()
