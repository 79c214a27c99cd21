"""Shared pieces of the issue 19 bench servers (bench only): the stored jobs and a loopback socket."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

RESULT_BYTES = 2048  # a finished job's result, as in bench_poll.py


def job_id(index: int) -> str:
    """The id of stored job ``index`` (UUID-shaped, as the server's ids are; the same in every server)."""
    return f"{index:08d}-0000-7000-8000-000000000000"


def fake_jobs(n: int, result_bytes: int = RESULT_BYTES) -> Iterator[dict[str, Any]]:
    """``n`` finished jobs in the public view's shape plus ``owner_id`` (owners ``user-0`` .. ``user-99``),
    each with a distinct result of about ``result_bytes`` bytes."""
    now = datetime.now(timezone.utc)
    for index in range(n):
        filler = "".join(random.choices("abcdefghijklmnopqrstuvwxyz ", k=result_bytes - 20))  # noqa: S311
        yield {
            "job_id": job_id(index), "job_type": "populated", "status": "completed",
            "metadata": {"case_id": f"case-{index}"}, "error": None, "error_code": None,
            "created_at": now, "started_at": now, "completed_at": now, "updated_at": now,
            "progress": 100, "progress_message": "Completed", "progress_code": "completed", "progress_params": None,
            "queue_position": None, "attempt": 1, "version": 3, "result": {"summary": filler},
            "owner_id": f"user-{index % 100}",
        }


def bound_socket() -> socket.socket:
    """A listening socket on an ephemeral loopback port, with a backlog for bursts of connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16384)
    sock.setblocking(False)
    return sock
