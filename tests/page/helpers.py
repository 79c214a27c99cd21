"""Steps the browser scenarios share: sign in, create a case, upload, start an analysis, watch it."""

from __future__ import annotations

import time
from pathlib import Path

from fpdf import FPDF
from playwright.sync_api import Locator, Page, expect

TERMINAL = ("completed", "failed")


def screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    """Save a full-page screenshot under the test's temp dir and return its path."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, user: str = "dev-user") -> None:
    """Open the page and sign in with the dev-mode button of ``user``."""
    page.goto("/")
    page.get_by_role("button", name=f"Sign in as {user}").click()
    expect(page.locator("#workspace")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text(user)


def create_case(page: Page, title: str, transcript: str = "") -> None:
    """Fill the new-case form and wait until the case is open."""
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Call transcript (optional)").fill(transcript)
    page.get_by_role("button", name="Create case").click()
    expect(page.locator("#case-heading")).to_have_text(title)


def make_pdf(path: Path, pages: int = 2) -> Path:
    """A small text PDF: a fictional medical summary, ``pages`` pages long."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    lines = ["Medical summary - Dr. R. Stein, Orthopaedics", "Patient: Dana Levi (fictional)",
             "Diagnosis: lumbar disc herniation L4-L5 after a work accident in March 2024.",
             "Hospitalized 12-15 March 2024, Ichilov. Recommended disability assessment: 40%.",
             "Patient cannot return to physical work; follow-up in six months."]
    for number in range(pages):
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 10, f"{line} (page {number + 1})" if line is lines[0] else line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def upload(page: Page, *files: Path) -> None:
    """Upload through the file picker (the labelled file input)."""
    page.locator("input[type=file]").set_input_files([str(file) for file in files])


def analysis(page: Page, name: str) -> Locator:
    """The panel of one analysis on the open case, by its heading."""
    return page.locator("section.analysis").filter(has=page.get_by_role("heading", name=name, exact=True))


def start_analysis(page: Page, name: str) -> Locator:
    """Click the start button of analysis ``name``; returns its panel."""
    panel = analysis(page, name)
    panel.get_by_role("button", name=f"Start {name}").click()
    expect(panel.locator(".job-card")).to_be_visible()
    return panel


def watch_progress(panel: Locator, timeout: float = 30) -> tuple[list[int], str]:
    """Sample the progress bar until the job finishes; returns the distinct values seen and the status."""
    bar = panel.get_by_role("progressbar")
    card = panel.locator(".job-card")
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = int(bar.get_attribute("aria-valuenow") or 0)
        if not seen or seen[-1] != value:
            seen.append(value)
        status = card.get_attribute("data-status") or ""
        if status in TERMINAL:  # read the bar once more: the job may have finished between the two reads
            final = int(bar.get_attribute("aria-valuenow") or 0)
            return (seen if seen[-1] == final else [*seen, final]), status
        time.sleep(0.05)
    raise AssertionError(f"the job did not finish in {timeout} s; progress seen: {seen}")


class LongPollCounter:
    """Counts the page's open long-polls (requests with ``wait=``) and remembers the most at once."""

    def __init__(self, page: Page):
        self.open = 0
        self.most = 0
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    @staticmethod
    def _is_long_poll(request) -> bool:
        return "wait=" in request.url

    def _started(self, request) -> None:
        if self._is_long_poll(request):
            self.open += 1
            self.most = max(self.most, self.open)

    def _ended(self, request) -> None:
        if self._is_long_poll(request):
            self.open -= 1
