"""No request storm on shutdown (issue 16, item 1): 50 long-poll clients through a SIGTERM of a real
``python -m server`` while a job is still running (its provider, the fake OpenAI server, answers
after 60 s), counting their requests during the grace.

Half the clients are the project's ``server/client.py``; the other half a plain httpx loop that
long-polls with ``Prefer: wait`` and honours ``Retry-After``, the way the issue's aiohttp loop did.
Before the fix they sent over ten thousand requests in the grace; now each sends at most three.
"""

from __future__ import annotations

import http.client
import json
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import httpx_sse

from server.client import JobsClient, JobWaitTimeout, parse_retry_after
from tests.ops.live_server import fetch, live_server, start_slow_analysis, token, wait_for_open_waits

GRACE = 6.0
CLIENTS = 50
MAX_REQUESTS_IN_GRACE = 3


def plain_loop(base: str, job_id: str, user: str, until: float, sent: list[float]) -> None:
    """Long-poll ``job_id`` until it is finished or ``until`` (monotonic), honouring ``Retry-After``
    on every answer; a refused connection waits a second. Notes when each request was sent."""
    headers = {"Authorization": f"Bearer {token(user, admin=True)}", "Prefer": "wait=25"}
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < until:
            sent.append(time.monotonic())
            try:
                response = client.get(f"{base}/jobs/{job_id}", params={"until": "finished"}, headers=headers)
            except httpx.TransportError:
                time.sleep(1)
                continue
            if response.status_code == 200 and response.json()["status"] in ("completed", "failed"):
                return
            pause = parse_retry_after(response.headers.get("Retry-After"))
            time.sleep(min(pause if pause is not None else 2.0, max(0.0, until - time.monotonic())))


def project_client(base: str, job_id: str, user: str, until: float) -> None:
    """``server/client.py`` waiting for the job until ``until`` (monotonic)."""
    try:
        JobsClient(base, token(user, admin=True)).wait(job_id, timeout=until - time.monotonic())
    except JobWaitTimeout:
        pass


def raw_request(base: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    """One request on its own connection, whose answer headers (``Connection``...) can be read."""
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
    connection.request("GET", path, headers={"Authorization": f"Bearer {token()}", **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_sigterm_with_50_waiting_clients_is_no_request_storm(tmp_path, slow_llm):
    with live_server(tmp_path, slow_llm, GRACE) as (process, base):
        job_id = start_slow_analysis(base)
        until = time.monotonic() + 22  # the long-polls stay open (25 s) until the signal
        plain_sent: dict[str, list[float]] = {f"plain-{n}": [] for n in range(CLIENTS // 2)}
        with ThreadPoolExecutor(CLIENTS + 2) as pool:
            futures = [pool.submit(plain_loop, base, job_id, user, until, sent) for user, sent in plain_sent.items()]
            futures += [pool.submit(project_client, base, job_id, f"client-{n}", until) for n in range(CLIENTS // 2)]
            etag = fetch(f"{base}/jobs/{job_id}", token())  # the conditional long-poll below waits on it
            conditional = pool.submit(raw_request, base, f"/jobs/{job_id}?wait=20",
                                      {"If-None-Match": f'"{job_id}.{etag[1]["version"]}"'})
            stream = pool.submit(read_stream, base, job_id)
            wait_for_open_waits(base, CLIENTS + 2)
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            refused = raw_request(base, f"/jobs/{job_id}?wait=20", {})
            not_modified, events = conditional.result(timeout=10), stream.result(timeout=10)
            assert process.wait(timeout=GRACE + 10) == 0
            exited = time.monotonic()
            for future in futures:
                future.result(timeout=30)
        logs = process.communicate()[1]

    # A long-poll that arrives during the grace: 503, Retry-After, Connection: close.
    assert refused.status == 503 and int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["Connection"] == "close"
    # The open conditional long-poll: answered once, 304 with Retry-After too.
    assert not_modified.status == 304 and int(not_modified.headers["Retry-After"]) >= 1
    # The open event stream (httpx-sse): the current state, then a retry: of the drain delay.
    assert events[-1].data == "" and (events[-1].retry or 0) >= 1000
    assert json.loads([e for e in events if e.event == "job"][-1].data)["status"] == "running"

    records = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    start = next(n for n, r in enumerate(records) if r["message"].startswith("shutting down"))
    in_grace = Counter(r.get("user_id") for r in records[start:] if r["message"].startswith("request method=GET"))
    per_client = {f"client-{n}": in_grace[f"client-{n}"] for n in range(CLIENTS // 2)}
    per_client.update({user: in_grace[user] for user in plain_sent})
    assert max(per_client.values()) <= MAX_REQUESTS_IN_GRACE, per_client
    assert sum(per_client.values()) >= CLIENTS  # each open long-poll was answered once, in the grace
    sent_in_grace = {user: sum(signalled <= at <= exited for at in sent) for user, sent in plain_sent.items()}
    assert max(sent_in_grace.values()) <= MAX_REQUESTS_IN_GRACE, sent_in_grace  # refused connections too


def read_stream(base: str, job_id: str) -> list[httpx_sse.ServerSentEvent]:
    """Every event of ``/jobs/{id}/events`` until the server ends the stream (httpx-sse)."""
    events: list[httpx_sse.ServerSentEvent] = []
    headers = {"Authorization": f"Bearer {token()}"}
    with httpx.Client(timeout=30) as client, \
            httpx_sse.connect_sse(client, "GET", f"{base}/jobs/{job_id}/events", headers=headers) as source:
        for event in source.iter_sse():
            events.append(event)
    return events


