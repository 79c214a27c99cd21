"""A small synchronous Python client for backend scripts: submit elsewhere, then ``wait`` here.

    from server.client import JobsClient
    job = JobsClient("http://localhost:8000", token).wait(job_id, timeout=600)
    if job["status"] == "completed": print(job["result"])

``wait`` long-polls (``?wait=25&until=finished``) and falls back to plain polling, honouring
``Retry-After``, when the server refuses long-polls (cap reached) or does not offer them. Network
errors are retried with exponential backoff until the timeout. Standard library only.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

TERMINAL = ("completed", "failed")


class JobsClientError(Exception):
    """The server answered with an error; ``status`` and ``code`` come from its JSON body."""

    def __init__(self, status: int, code: str, detail: str):
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail = status, code, detail


class JobWaitTimeout(TimeoutError):
    """The job did not finish within the caller's timeout (the job itself goes on)."""


class JobsClient:
    """Client of the job API.

    Args:
        base_url: e.g. ``http://localhost:8000``.
        token: bearer token.
        long_poll_seconds: wait per long-poll request (the server caps it at 25 s by default).
        poll_interval: seconds between plain polls when the server gives no ``Retry-After``.
    """

    def __init__(self, base_url: str, token: str, *, long_poll_seconds: float = 25.0, poll_interval: float = 2.0):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._long_poll_seconds = long_poll_seconds
        self._poll_interval = poll_interval

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
            JobsClientError: the job is unknown (404 with ``not_found``/``expired``/``server_restarted``)
                or the token is refused.
        """
        deadline = time.monotonic() + timeout
        long_poll = True
        backoff = 0.5
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise JobWaitTimeout(f"job {job_id} did not finish within {timeout:g} s")
            try:
                if long_poll:
                    wait = max(0.1, min(self._long_poll_seconds, remaining))
                    headers, job = self._request(f"/jobs/{job_id}?wait={wait:.1f}&until=finished", timeout=wait + 10)
                else:
                    headers, job = self._request(f"/jobs/{job_id}", timeout=30)
            except JobsClientError as error:
                if long_poll and error.status in (400, 429, 503) and error.code in ("invalid_wait", "too_many_waits"):
                    long_poll = False  # the server cannot hold a wait for us now: poll instead
                    continue
                raise
            except (urllib.error.URLError, OSError):
                time.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.5
            if job["status"] in TERMINAL:
                return job
            if not long_poll:
                pause = float(headers.get("Retry-After") or self._poll_interval)
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))

    def _request(self, path: str, *, method: str = "GET", timeout: float) -> tuple[Any, dict[str, Any]]:
        request = urllib.request.Request(self.base_url + path, method=method,  # noqa: S310 (http(s) base URL)
                                         headers={"Authorization": f"Bearer {self._token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.headers, json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read() or b"{}")
            except ValueError:
                body = {}
            raise JobsClientError(error.code, body.get("code", "http_error"), body.get("detail", "")) from None
