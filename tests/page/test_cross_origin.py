"""A page on another origin calls the API from a real Chromium (issue 16, item 4).

``Idempotency-Key`` is documented, but it was missing from the preflight's
``Access-Control-Allow-Headers``, so a cross-origin page's POST failed in the preflight ("TypeError:
Failed to fetch"). The page here is served by a second server on another port (another origin);
the API allows that origin in ``CORS_ORIGINS``; the browser does the CORS checks itself.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server.auth import mint_token
from server.config import HttpSettings
from tests.page.conftest import LiveServer, _llm_settings, _ServerThread, _settings

PAGE_HTML = b"<!doctype html><html><head><title>Another origin</title></head><body>partner page</body></html>"

CROSS_ORIGIN_POST = """
async ([api, token, caseId]) => {
  const post = () => fetch(`${api}/vapi/re-analyze-call/${caseId}`, {
    method: "POST", body: "{}",
    headers: {"Authorization": `Bearer ${token}`, "Content-Type": "application/json",
              "Idempotency-Key": "browser-call-1"},
  });
  const first = await post();
  const again = await post();
  return {status: first.status, job: (await first.json()).job_id, location: first.headers.get("Location"),
          againStatus: again.status, againJob: (await again.json()).job_id};
}
"""


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE_HTML)))
        self.end_headers()
        self.wfile.write(PAGE_HTML)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        pass


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """A second server, the partner's page, on its own port: another origin than the API's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, fake_llm, page_origin: str) -> Iterator[LiveServer]:
    """The API server, allowing the page's origin (``CORS_ORIGINS``)."""
    settings = _settings(tmp_path_factory.mktemp("cross-origin"))
    settings = replace(settings, http=HttpSettings(cors_origins=(page_origin,)))
    thread = _ServerThread(settings, _llm_settings(fake_llm))
    thread.start()
    assert thread.services is not None
    yield LiveServer(f"http://127.0.0.1:{thread.port}", thread.services, fake_llm)
    thread.stop()


def create_case(api: str, token: str) -> str:
    body = json.dumps({"title": "Cross-origin", "call_details": {"transcript": "Hello", "messages": []}}).encode()
    request = urllib.request.Request(f"{api}/cases", data=body, method="POST",  # noqa: S310 (127.0.0.1)
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return str(json.loads(response.read())["case_id"])


def test_cross_origin_post_with_idempotency_key_passes_the_preflight(browser, live_server, page_origin):
    token = mint_token(live_server.services.settings.auth, "dev-user")
    case_id = create_case(live_server.url, token)
    context = browser.new_context()
    page = context.new_page()
    page.goto(page_origin + "/")
    answer = page.evaluate(CROSS_ORIGIN_POST, [live_server.url, token, case_id])
    context.close()
    assert answer["status"] == 202 and answer["location"] == f"/jobs/{answer['job']}"  # Location is exposed
    assert answer["againStatus"] == 202 and answer["againJob"] == answer["job"]  # the key reached the server

