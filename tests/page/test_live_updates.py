"""Browser scenarios: how the page follows jobs when the network or the server misbehaves, and
when the tab is hidden."""

from __future__ import annotations

import json
import time

from playwright.sync_api import expect

from tests.page.helpers import create_case, screenshot, sign_in, start_analysis, watch_progress

TRANSCRIPT = "I hurt my back at work and need a medical report."


def is_feed(url: str) -> bool:
    return "/jobs?" in url and ("since=" in url or "limit=50" in url)


def test_network_errors_show_reconnecting_then_recover(page, tmp_path):
    page.route(is_feed, lambda route: route.abort("connectionrefused"))
    sign_in(page)
    connection = page.locator("#connection")
    expect(connection).to_have_text("Reconnecting…")
    expect(connection).to_have_attribute("data-state", "reconnecting")
    screenshot(page, tmp_path, "reconnecting")
    page.unroute(is_feed)
    expect(connection).to_have_text("Live", timeout=10000)  # the next retry (backoff <= 4 s) succeeds


def test_without_long_poll_support_the_page_polls_every_two_seconds(page, tmp_path):
    def refuse_wait(route):
        if "wait=" not in route.request.url:
            route.continue_()
            return
        route.fulfill(status=400, content_type="application/json",
                      body=json.dumps({"detail": "'wait' is not supported here", "code": "invalid_wait"}))

    page.route("**/jobs*", refuse_wait)
    requests: list[tuple[float, str]] = []
    page.on("request", lambda request: requests.append((time.monotonic(), request.url))
            if "/jobs" in request.url and request.method == "GET" else None)
    sign_in(page)
    create_case(page, "Polling only", TRANSCRIPT)
    expect(page.locator("#connection")).to_have_text("Updating every 2 s")
    panel = start_analysis(page, "Call analysis")
    seen, status = watch_progress(panel)
    assert status == "completed"
    screenshot(page, tmp_path, "polling")
    polls = [at for at, url in requests if "since=" in url and "wait=" not in url]
    assert len(polls) >= 2
    gaps = [later - earlier for earlier, later in zip(polls, polls[1:], strict=False)]
    assert min(gaps) > 1.5, f"plain polls must be about 2 s apart, saw gaps {gaps}"


def test_a_hidden_tab_stops_asking_and_resumes_when_shown(page, tmp_path):
    sign_in(page)
    expect(page.locator("#connection")).to_have_text("Live")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url) if "/jobs" in request.url else None)
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(500)
    requests.clear()
    page.wait_for_timeout(3000)
    assert requests == [], f"a hidden tab must not poll: {requests}"
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(500)
    assert any("since=" in url for url in requests), "the feed resumes at once when the tab is shown"


def test_expect_waits_as_long_as_the_pages_actions(page):
    """``page.set_default_timeout(15000)`` never reached ``expect``: its assertions gave up after
    Playwright's own 5 s, so a state shown 5-15 s late (a loaded CI machine) failed the test."""
    page.set_content('<p id="late" hidden>late</p>'
                     '<script>setTimeout(() => { document.getElementById("late").hidden = false; }, 6000)</script>')
    expect(page.locator("#late")).to_be_visible()
