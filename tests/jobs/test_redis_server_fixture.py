"""The throwaway ``redis-server`` helper itself: a port taken between picking it and binding it
(another process got there first) must never leave a test talking to someone else's Redis."""

from __future__ import annotations

import pytest

from tests.jobs.redis_server import RedisServer, answering_pid, require_redis_server


@pytest.fixture
def occupant():
    server = RedisServer(require_redis_server()).start()
    yield server
    server.cleanup()


def test_a_picked_port_taken_meanwhile_is_replaced_by_a_free_one(occupant):
    """The PING once came from the occupant while our own redis-server had exited on "Address
    already in use": start() returned, and stop()/SIGSTOP reached nobody."""
    late = RedisServer(occupant.binary)
    late.port = occupant.port  # what a bind by another process between free_port() and start() does
    try:
        late.start()
        assert late.process is not None and late.process.poll() is None
        assert late.port != occupant.port and answering_pid(late.port) == late.process.pid
    finally:
        late.cleanup()


def test_a_port_that_must_stay_is_an_error_when_taken(occupant):
    fixed = RedisServer(occupant.binary, port=occupant.port)
    try:
        with pytest.raises(RuntimeError, match="did not start"):
            fixed.start()
        assert answering_pid(occupant.port) == occupant.process.pid  # the occupant is left alone
    finally:
        fixed.cleanup()


def test_a_server_that_fails_for_another_reason_is_reported_not_retried(tmp_path):
    """Any exit was taken for a taken port: five ports were tried and the error guessed "port taken by
    another process?", with redis-server's own words thrown away (its output went to /dev/null)."""
    runs = tmp_path / "runs"
    binary = tmp_path / "redis-server"
    binary.write_text(f"#!/bin/sh\necho run >> {runs}\necho '*** FATAL CONFIG FILE ERROR: bad directive'\nexit 1\n")
    binary.chmod(0o755)
    broken = RedisServer(str(binary))
    try:
        with pytest.raises(RuntimeError, match="FATAL CONFIG FILE ERROR"):
            broken.start()
        assert runs.read_text().count("run") == 1
    finally:
        broken.cleanup()
