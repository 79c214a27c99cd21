"""A small synchronous Python client for backend scripts: submit elsewhere, then ``wait`` here.

    from server.client import JobsClient, parse_timestamp
    job = JobsClient("http://localhost:8000", token).wait(job_id, timeout=600)
    if job["status"] == "completed": print(job["result"], parse_timestamp(job["completed_at"]))

``wait`` long-polls (``?until=finished`` with ``Prefer: wait=N``, RFC 7240: the server caps the
wait at its own limit instead of refusing it). It honours ``Retry-After`` on every answer: an
unfinished job, a ``429``/``503`` (the server is full or shutting down), in long-poll and in plain
polling alike, so a server that is stopping is not polled in a loop. A server that does not
long-poll (no ``Preference-Applied``) is polled every ``Retry-After`` (else ``poll_interval``)
seconds. Network errors and ``5xx`` answers without ``Retry-After`` are retried with exponential
backoff and jitter until the timeout. Standard library only: copy this file into your scripts.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from typing import Any

TERMINAL = ("completed", "failed")
RETRYABLE_STATUSES = (408, 425, 429, 500, 502, 503, 504)
RETRY_JITTER = 0.1  # up to 10% more than Retry-After, so clients sent away together do not return together


class JobsClientError(Exception):
    """The server answered with an error; ``status`` and ``code`` come from its JSON body,
    ``retry_after`` (seconds or None) from its ``Retry-After`` header."""

    def __init__(self, status: int, code: str, detail: str, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail, self.retry_after = status, code, detail, retry_after


class JobWaitTimeout(TimeoutError):
    """The job did not finish within the caller's timeout (the job itself goes on)."""


class JobsClient:
    """Client of the job API.

    Args:
        base_url: e.g. ``http://localhost:8000``.
        token: bearer token.
        long_poll_seconds: wait asked per long-poll request, seconds; the server caps it at its
            ``LONGPOLL_MAX_SECONDS`` (25 by default), so any value works.
        poll_interval: seconds between plain polls when the server gives no ``Retry-After``.
        max_backoff: longest pause between retries after errors, seconds.
    """

    def __init__(self, base_url: str, token: str, *, long_poll_seconds: float = 25.0, poll_interval: float = 2.0,
                 max_backoff: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._long_poll_seconds = long_poll_seconds
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's current state. Raises ``JobsClientError`` on an error answer."""
        return self._request(f"/jobs/{job_id}", timeout=30)[1]

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a pending or running job; returns the job. 409 raises ``JobsClientError``."""
        return self._request(f"/jobs/{job_id}/cancel", method="POST", timeout=30)[1]

    def wait(self, job_id: str, timeout: float = 600.0) -> dict[str, Any]:
        """Block until the job is ``completed`` or ``failed`` and return it.

        Args:
            timeout: seconds to wait in all.
        Raises:
            JobWaitTimeout: not finished within ``timeout``.
            JobsClientError: the job is unknown (404 with ``not_found``/``expired``/``server_restarted``),
                the token is refused, or another answer that retrying cannot change.
        """
        deadline = time.monotonic() + timeout
        failures = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise JobWaitTimeout(f"job {job_id} did not finish within {timeout:g} s")
            seconds = max(1, round(min(self._long_poll_seconds, remaining)))
            try:
                headers, job = self._request(f"/jobs/{job_id}?until=finished", timeout=seconds + 10,
                                             headers={"Prefer": f"wait={seconds}"})
            except JobsClientError as error:
                if error.status not in RETRYABLE_STATUSES:
                    raise
                failures += 1
                pause = _jittered(error.retry_after) if error.retry_after is not None else self._backoff(failures)
            except (urllib.error.URLError, OSError):  # refused, reset, timed out: the server may be restarting
                failures += 1
                pause = self._backoff(failures)
            else:
                failures = 0
                if job["status"] in TERMINAL:
                    return job
                pause = self._pause_after(headers)
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))

    def _pause_after(self, headers: Any) -> float:
        """Seconds before the next request after an unfinished job: its ``Retry-After`` (the
        server sends its polling interval, 2 s, even after a long-poll's deadline, and the drain
        delay during its shutdown); else none after a long-poll the server honoured
        (``Preference-Applied``), and ``poll_interval`` from a server that does not long-poll."""
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is not None:
            return _jittered(retry_after)
        return 0.0 if headers.get("Preference-Applied") else self._poll_interval

    def _backoff(self, failures: int) -> float:
        """Exponential backoff with jitter after ``failures`` errors in a row: half of
        ``min(max_backoff, 0.5 * 2**failures)`` fixed, the other half random ("equal jitter"), so
        clients that failed together spread out and none retries at once."""
        ceiling = min(self._max_backoff, 0.5 * 2 ** min(failures, 16))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (not security)

    def _request(self, path: str, *, method: str = "GET", timeout: float,
                 headers: dict[str, str] | None = None) -> tuple[Any, dict[str, Any]]:
        request = urllib.request.Request(self.base_url + path, method=method,  # noqa: S310 (http(s) base URL)
                                         headers={"Authorization": f"Bearer {self._token}", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.headers, json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read() or b"{}")
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            raise JobsClientError(error.code, body.get("code", "http_error"), body.get("detail", ""),
                                  parse_retry_after(error.headers.get("Retry-After"))) from None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3);
    None when absent or unreadable. Never negative."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def parse_timestamp(value: str | None) -> datetime | None:
    """A job timestamp (``created_at``, ``started_at``, ``completed_at``, ``updated_at``) as an
    aware UTC ``datetime``; None for None.

    The server writes RFC 3339 with a ``Z`` suffix, which ``datetime.fromisoformat`` reads only
    from Python 3.11 on; this works on 3.10 too (the one-liner it stands for:
    ``datetime.fromisoformat(value.replace("Z", "+00:00"))``).

    Raises:
        ValueError: not an ISO 8601 timestamp.
    """
    if value is None:
        return None
    parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _jittered(seconds: float) -> float:
    return seconds * (1 + random.uniform(0, RETRY_JITTER))  # noqa: S311 (not security)
