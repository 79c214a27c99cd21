"""``/metrics``: Prometheus text from a per-app registry, job metrics from the store's notifications."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from server.app import build_services, shutdown, start_background, startup
from server.config import ObservabilitySettings
from tests.waiting import settle

METRICS_TOKEN = "metrics-token-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition keyed by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(api, **kwargs) -> dict:
    reply = await api.get("/metrics", user=None, **kwargs)
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("text/plain")
    return samples(reply.body.decode())


@pytest.mark.gen_test(timeout=10)
async def test_job_metrics_follow_the_lifecycle(api, services):
    created = [(await api.post("/test/jobs", body={"job_type": "quick"})).json["job_id"] for _ in range(3)]
    held = await api.post("/test/jobs", body={"job_type": "held"})
    await settle(lambda: all(services.store._jobs[job_id].is_terminal for job_id in created))
    await settle(lambda: services.store._jobs[held.json["job_id"]].progress == 10)
    cancelled = await api.post(f"/jobs/{held.json['job_id']}/cancel")
    assert cancelled.status == 200
    found = await scrape(api)
    assert found[("jobs_created_total", (("job_type", "quick"),))] == 3
    assert found[("jobs_finished_total", (("job_type", "quick"), ("outcome", "completed")))] == 3
    assert found[("jobs_finished_total", (("job_type", "held"), ("outcome", "cancelled")))] == 1
    assert found[("job_duration_seconds_count", (("job_type", "quick"),))] == 3
    assert found[("job_queue_wait_seconds_count", (("job_type", "quick"),))] == 3
    assert found[("jobs_active", (("job_type", "quick"), ("status", "running")))] == 0
    assert found[("jobs_active", (("job_type", "held"), ("status", "pending")))] == 0


@pytest.mark.gen_test(timeout=10)
async def test_pending_and_running_gauges_and_open_waiters(api, services, release_held):
    services.runner._types["held"].concurrency = 1
    first = (await api.post("/test/jobs", body={"job_type": "held"})).json["job_id"]
    await api.post("/test/jobs", body={"job_type": "held"})
    await settle(lambda: services.store._jobs[first].progress == 10)
    poll = asyncio.ensure_future(api.get(f"/jobs/{first}?wait=5"))
    await settle(lambda: services.waiters.open_count == 1)
    found = await scrape(api)
    assert found[("jobs_active", (("job_type", "held"), ("status", "running")))] == 1
    assert found[("jobs_active", (("job_type", "held"), ("status", "pending")))] == 1
    assert found[("longpolls_open", ())] == 1 and found[("event_streams_open", ())] == 0
    release_held.set()
    assert (await poll).status == 200


@pytest.mark.gen_test(timeout=10)
async def test_http_requests_are_counted_by_route_pattern_not_path(api, services):
    for _ in range(2):
        job_id = (await api.post("/test/jobs", body={"job_type": "quick"})).json["job_id"]
        assert (await api.get(f"/jobs/{job_id}")).status == 200
    await api.get("/no/such/thing")
    found = await scrape(api)
    assert found[("http_requests_total", (("method", "GET"), ("route", "/jobs/{id}"), ("status", "200")))] == 2
    assert found[("http_requests_total", (("method", "POST"), ("route", "/test/jobs"), ("status", "202")))] == 2
    assert found[("http_requests_total", (("method", "GET"), ("route", "(unmatched)"), ("status", "404")))] == 1
    assert found[("http_request_duration_seconds_count", (("method", "GET"), ("route", "/jobs/{id}")))] == 2
    assert not any(job_id in str(key) for key in found)


@pytest.mark.gen_test(timeout=10)
async def test_ioloop_lag_is_measured(api, services):
    start_background(services)
    try:
        await settle(lambda: b"ioloop_lag_seconds_count 0.0" not in services.metrics.render(), timeout=3)
        found = await scrape(api)
        assert found[("ioloop_lag_seconds_count", ())] >= 1
    finally:
        services.sweeper.stop()
        services.metrics.close()


def test_each_app_has_its_own_registry(settings):
    one, two = build_services(settings), build_services(settings)
    assert one.metrics.registry is not two.metrics.registry
    one.metrics.jobs_created.labels("quick").inc()
    assert b'jobs_created_total{job_type="quick"} 1.0' in one.metrics.render()
    assert b"jobs_created_total{" not in two.metrics.render()


@pytest.mark.gen_test(timeout=10)
async def test_metrics_token_is_required_when_set(api, services):
    services.settings = replace(services.settings, observability=ObservabilitySettings(metrics_token=METRICS_TOKEN))
    assert (await api.get("/metrics", user=None)).status == 401
    assert (await api.get("/metrics")).status == 401  # a user's token does not open it
    wrong = await api.get("/metrics", user=None, headers={"Authorization": f"Bearer {METRICS_TOKEN}x"})
    assert wrong.status == 401 and wrong.json["code"] == "invalid_token"
    await scrape(api, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})


@pytest.mark.gen_test(timeout=10)
async def test_unknown_http_methods_share_one_metric_label(api, services):
    for method in ("ZZMETHOD1", "ZZMETHOD2"):
        await api.request(method, "/jobs")
    found = await scrape(api)
    assert not any("ZZMETHOD" in str(key) for key in found)
    assert any(("method", "OTHER") in key[1] for key in found)


@pytest.mark.gen_test(timeout=10)
async def test_standard_process_and_python_series_and_no_created_series(api):
    assert (await api.post("/test/jobs", body={"job_type": "quick"})).status == 202  # counters with children
    found = {name for name, _ in await scrape(api)}
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "python_info",
            "python_gc_objects_collected_total"} <= found
    assert "jobs_created_total" in found and "http_requests_total" in found
    assert not [name for name in found if name.endswith("_created")]


@pytest.mark.gen_test(timeout=10)
async def test_openmetrics_is_served_when_the_scraper_asks_for_it(api):
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    reply = await api.get("/metrics", user=None, headers={"Accept": accept})
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("application/openmetrics-text")
    text = reply.body.decode()
    assert text.endswith("# EOF\n")
    names = {sample.name for family in openmetrics_families(text) for sample in family.samples}
    assert "process_cpu_seconds_total" in names and not [name for name in names if name.endswith("_created")]
    await scrape(api, headers={"Accept": "text/plain"})  # and Prometheus text otherwise


@pytest.mark.parametrize("token,warned", [(None, True), (METRICS_TOKEN, False)])
def test_production_start_up_warns_when_metrics_are_public(settings, io_loop, caplog, token, warned):
    production = replace(settings, production=True, observability=ObservabilitySettings(metrics_token=token))
    services = build_services(production)
    io_loop.run_sync(lambda: startup(services))
    io_loop.run_sync(lambda: shutdown(services, 0))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "/metrics" in r.getMessage()]
    assert bool(warnings) is warned
    assert not warned or "METRICS_TOKEN" in warnings[0]
