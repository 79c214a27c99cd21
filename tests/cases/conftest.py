"""Case tests: on SQLite and on PostgreSQL (``case_db_url``), with a small upload limit so the 413
paths are cheap to exercise."""

from __future__ import annotations

import dataclasses

import pytest

from server.config import Settings

UPLOAD_LIMIT = 300_000


@pytest.fixture
def settings(settings: Settings, case_db_url: str) -> Settings:
    return dataclasses.replace(settings, cases=dataclasses.replace(settings.cases, max_upload_bytes=UPLOAD_LIMIT,
                                                                   database_url=case_db_url))
