"""Fixtures of the browser tests: a real server on a free port, the fake LLM server, and Chromium.

The server runs in its own thread with its own event loop, exactly as ``python -m server`` runs
it (dev mode, ephemeral secret, demo data), with the provider set pointed at the fake LLM server.
Playwright's sync API runs in the test thread, which has no running event loop.

Chromium is Debian's ``chromium`` package; a missing browser fails the tests with the command that
installs it (never a silent skip).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import tornado.httpserver
import tornado.netutil

from server.analysis.providers.config import LLMSettings
from server.analysis.providers.registry import ProviderSet
from server.app import build_services, make_app, shutdown, startup
from server.config import AuthSettings, CasesSettings, JobSettings, Settings
from server.services import Services
from tests.fakes.fake_provider import FakeProviderServer

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# The machine has no internet: without these Chromium keeps dialling Google services.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Every wait of a browser test: actions and locators (``page.set_default_timeout``) and ``expect``
# assertions, which do not read the page's default: theirs is Playwright's own 5 s unless set with
# ``expect.set_options`` (a loaded 2-core CI machine can take longer to show a job's new state).
TIMEOUT_MS = 15_000
MISSING_CHROMIUM = ("Chromium not found at {path}. The browser tests need Debian's chromium package: "
                    "`apt-get update && apt-get install -y chromium` (or set CHROMIUM_PATH). "
                    "Do not run `playwright install`: its download does not work here.")
FAKE_DELAY_SECONDS = 1.0  # before each model answer, so the "running" state can be seen
FAKE_STREAM_SECONDS = 1.5  # the answer streams over this long: the progress bar moves in steps


@dataclass
class LiveServer:
    """A running server: ``url``, its ``services`` (read-only from the test thread) and the fake LLM."""

    url: str
    services: Services
    fake_llm: FakeProviderServer


def _settings(data_dir: Path) -> Settings:
    """Dev-mode settings like ``python -m server`` without JWT_SECRET: an ephemeral secret."""
    auth = AuthSettings(key=secrets.token_urlsafe(48), algorithms=("HS256",), ephemeral=True)
    return Settings(auth=auth, jobs=JobSettings(timeout_seconds=60, concurrency=4),
                    cases=CasesSettings(db_path=str(data_dir / "cases.db")))


def _llm_settings(fake: FakeProviderServer) -> LLMSettings:
    return LLMSettings.from_env({
        "OPENAI_API_KEY": "sk-test", "ANTHROPIC_API_KEY": "sk-ant-test",
        "OPENAI_BASE_URL": fake.openai_base_url, "ANTHROPIC_BASE_URL": fake.anthropic_base_url,
        "LLM_TIMEOUT_SECONDS": "20", "LLM_MAX_RETRIES": "0",  # a scripted failure fails the job at once
    })


class _ServerThread:
    """Runs the app on its own event loop until ``stop()``."""

    def __init__(self, settings: Settings, llm: LLMSettings):
        self.settings = settings
        self.llm = llm
        self.sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = self.sockets[0].getsockname()[1]
        self.ready = threading.Event()
        self.services: Services | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="page-test-server", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self.ready.wait(30):
            raise RuntimeError("the test server did not start within 30 s")
        if self.error is not None:
            raise RuntimeError("the test server failed to start") from self.error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to the test thread by start()
            self.error = error
            self.ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        services = build_services(self.settings)
        providers = ProviderSet.build(self.llm)
        services.analysis.providers = providers
        await startup(services)
        http = tornado.httpserver.HTTPServer(make_app(services))
        http.add_sockets(self.sockets)
        self.services = services
        self.ready.set()
        await self._stop.wait()
        services.runner.stop_accepting()
        await shutdown(services, 0)
        http.stop()
        await http.close_all_connections()
        await providers.aclose()


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeProviderServer]:
    """The fake OpenAI/Anthropic server with a visible delay and a streamed answer."""
    fake = FakeProviderServer(delay=FAKE_DELAY_SECONDS, stream_seconds=FAKE_STREAM_SECONDS).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeProviderServer) -> Iterator[LiveServer]:
    """The server of this test module (dev mode, demo data, providers on the fake LLM server)."""
    thread = _ServerThread(_settings(tmp_path_factory.mktemp("server-data")), _llm_settings(fake_llm))
    thread.start()
    assert thread.services is not None
    yield LiveServer(f"http://127.0.0.1:{thread.port}", thread.services, fake_llm)
    thread.stop()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium binary; fails (never skips) with the install command when it is missing."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        pytest.fail(MISSING_CHROMIUM.format(path=CHROMIUM), pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path: str):
    """One headless Chromium per test module."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # process-wide; page.set_default_timeout does not reach it
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def watched_page(browser, base_url: str) -> Iterator:
    """A fresh browser context (own sessionStorage) on ``base_url``; a page error or console error
    fails the test when the context closes."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 1000}, locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture
def page(browser, live_server: LiveServer, tmp_path: Path):
    """A fresh browser context (own sessionStorage) on the live server; console errors fail the test."""
    with watched_page(browser, live_server.url) as fresh:
        yield fresh
