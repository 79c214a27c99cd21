"""The event stream with real SSE client libraries (issue 16, items 2 and 3): httpx-sse, and the npm
``eventsource`` package v2 and v3 run by node.

A spec client reconnects whenever a stream ends; the server ends a stream after the terminal event,
and answers the reconnection (``Last-Event-ID`` = the final version) with ``204``, which makes the
client stop. Every stream opens with its headers, a ``retry:`` and a comment at once, so a resume
with nothing new neither waits for the next change nor trips httpx's 5 s read timeout.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import httpx_sse
import pytest

from server.jobs.handlers import SSE_RETRY_MS
from tests.jobs.conftest import Gates
from tests.jobs.test_push import running_gated

NODE_SCRIPT = r"""
// argv: version url token. Prints one JSON line per happening; exits once the source is closed.
const [, , version, url, token] = process.argv;
const mod = require(`eventsource${version}`);
const EventSource = mod.EventSource || mod;
const auth = { Authorization: `Bearer ${token}` };
const options = version === "2"
  ? { headers: auth }
  : { fetch: (input, init) => fetch(input, { ...init, headers: { ...(init && init.headers), ...auth } }) };
const say = (what) => console.log(JSON.stringify(what));
const source = new EventSource(url, options);
source.onopen = () => say({ open: true });
source.addEventListener("job", (e) => say({ id: e.lastEventId, status: JSON.parse(e.data).status }));
source.onerror = () => {  // v2 closes just after its error event: look on the next turn
  setTimeout(() => { if (source.readyState === 2) { say({ closed: true }); process.exit(0); } }, 0);
};
setTimeout(() => { say({ gave_up: true }); process.exit(1); }, 20000);
"""


@pytest.fixture(scope="session")
def eventsource_dir(tmp_path_factory) -> Path:
    """A folder with the npm ``eventsource`` package v2 and v3 installed (from the npm registry)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the npm eventsource client cannot run")
    folder = tmp_path_factory.mktemp("eventsource")
    (folder / "package.json").write_text('{"name": "sse-client-test", "private": true}')
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent",  # noqa: S607
                    "eventsource2@npm:eventsource@2", "eventsource3@npm:eventsource@3"],
                   cwd=folder, check=True, timeout=300, capture_output=True)
    (folder / "client.js").write_text(NODE_SCRIPT)
    return folder


def events_answered(services, status: str) -> float:
    value = services.metrics.registry.get_sample_value(
        "http_requests_total", {"route": "/jobs/{id}/events", "method": "GET", "status": status})
    return value or 0.0


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.gen_test(timeout=60)
async def test_npm_eventsource_stops_reconnecting_after_the_terminal_event(api, base_url, services, gates: Gates,
                                                                          eventsource_dir, version):
    job = await running_gated(services, "npm")
    process = await asyncio.create_subprocess_exec(
        "node", "client.js", version, f"{base_url}/jobs/{job.job_id}/events", api.token(),
        cwd=eventsource_dir, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    seen = [json.loads(await asyncio.wait_for(process.stdout.readline(), 20))]
    assert seen == [{"open": True}]  # before any change: the headers came at once
    seen.append(json.loads(await asyncio.wait_for(process.stdout.readline(), 20)))
    gates.open("npm")
    while "closed" not in seen[-1] and "gave_up" not in seen[-1]:
        seen.append(json.loads(await asyncio.wait_for(process.stdout.readline(), 25)))
    assert await process.wait() == 0, seen
    statuses = [line["status"] for line in seen if "status" in line]
    assert statuses[0] == "running" and statuses[-1] == "completed"
    assert seen[-1] == {"closed": True}
    assert events_answered(services, "200") == 1  # the stream, ended after the terminal event
    assert events_answered(services, "204") == 1  # its one reconnection, told to stop


@pytest.mark.gen_test(timeout=30)
async def test_httpx_sse_resume_with_nothing_new_opens_at_once(api, base_url, services, gates: Gates):
    job = await running_gated(services, "hx")
    headers = {"Authorization": f"Bearer {api.token()}", "Last-Event-ID": str(job.version)}

    def first_event() -> tuple[str, httpx_sse.ServerSentEvent]:
        # httpx's default 5 s read timeout, shorter than the 15 s keep-alive: only an answer sent
        # at once gets through.
        with httpx.Client(timeout=5) as client, httpx_sse.connect_sse(
                client, "GET", f"{base_url}/jobs/{job.job_id}/events", headers=headers) as source:
            return source.response.headers["Content-Type"], next(iter(source.iter_sse()))

    content_type, event = await asyncio.get_running_loop().run_in_executor(None, first_event)
    assert content_type.startswith("text/event-stream")
    assert event.retry == SSE_RETRY_MS and event.data == ""  # the opening retry:, not a job event
    gates.open("hx")


@pytest.mark.gen_test(timeout=30)
async def test_httpx_sse_reads_every_change_until_the_terminal_event(api, base_url, services, gates: Gates):
    job = await running_gated(services, "all")

    def read_all() -> list[httpx_sse.ServerSentEvent]:
        with httpx.Client(timeout=10) as client, httpx_sse.connect_sse(
                client, "GET", f"{base_url}/jobs/{job.job_id}/events",
                headers={"Authorization": f"Bearer {api.token()}"}) as source:
            return [event for event in source.iter_sse() if event.event == "job"]

    reading = asyncio.get_running_loop().run_in_executor(None, read_all)
    await asyncio.sleep(0.2)
    gates.open("all")
    events = await reading
    assert json.loads(events[-1].data)["status"] == "completed"
    assert [int(event.id) for event in events] == sorted({int(event.id) for event in events})
