"""Case tests: a small upload limit so the 413 paths are cheap to exercise."""

from __future__ import annotations

import dataclasses

import pytest

from server.config import Settings

UPLOAD_LIMIT = 300_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, cases=dataclasses.replace(settings.cases, max_upload_bytes=UPLOAD_LIMIT))
