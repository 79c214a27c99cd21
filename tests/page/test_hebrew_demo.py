"""Browser scenario of issue 18: the seeded Hebrew demo case analysed by the offline (demo) analyzer,
as a new user on a fresh machine sees it, in English and then in Hebrew.

The Hebrew page must not show a Latin-script word that is not user data: a word is user data when it
occurs in a case title, the transcript, a document's text or file name, the user's id or a model or
provider name. Everything else (labels, statuses, badges, progress, document types, result labels)
comes from the message catalogue. Screenshots of both languages are saved in the test's tmp dir.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.analysis.providers.config import LLMSettings
from tests.page.conftest import _ServerThread, _settings, watched_page
from tests.page.helpers import screenshot, sign_in, start_analysis, watch_progress

HEBREW_CASE = "תביעת נכות כללית - יוסי לוי (דמו)"
ANALYSES = ("Call analysis", "Document analysis", "Form 7801")
LATIN_WORD = re.compile(r"[A-Za-z]+")

# Every visible text node of <body> outside an element that declares another language (the
# language switch says "English" in English on purpose), with its parent's text for context.
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || !node.textContent.trim() || !parent.checkVisibility()) continue;
    const lang = parent.closest('[lang]')?.getAttribute('lang');
    if (lang && lang !== 'he') continue;
    out.push([node.textContent, parent.textContent.slice(0, 120)]);
  }
  return out;
}"""

# The user data of every case the user sees, through the API the page uses.
USER_DATA = """async () => {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem('caseApp.token')}` };
  const get = async (path) => (await fetch(path, { headers })).json();
  const texts = ['offline-extractive-1', 'offline'];
  for (const item of (await get('/cases?limit=100')).cases) {
    texts.push(item.title, item.user_id);
    const record = await get(`/cases/${item.case_id}`);
    texts.push(record.call_details?.transcript ?? '');
    for (const doc of (await get(`/cases/${item.case_id}/documents`)).documents) {
      texts.push(doc.file_name, (await get(`/cases/${item.case_id}/documents/${doc.document_id}`)).text ?? '');
    }
  }
  return texts;
}"""


@pytest.fixture(scope="module")
def offline_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server as on a fresh machine: no API key, so every analysis runs the offline analyzer."""
    thread = _ServerThread(_settings(tmp_path_factory.mktemp("offline-data")), LLMSettings.from_env({}))
    thread.start()
    yield f"http://127.0.0.1:{thread.port}"
    thread.stop()


@pytest.fixture
def demo_page(browser, offline_url: str) -> Iterator[Page]:
    """A fresh browser context on the offline server; console errors fail the test."""
    with watched_page(browser, offline_url) as fresh:
        yield fresh


def _latin_words(texts: list[str]) -> set[str]:
    return {word.casefold() for text in texts for word in LATIN_WORD.findall(text or "")}


def test_hebrew_demo_case_offline_results_are_marked_consistent_and_fully_hebrew(demo_page: Page, tmp_path: Path):
    page = demo_page
    sign_in(page)
    page.locator(".case-item", has_text=HEBREW_CASE).click()
    expect(page.locator("#case-heading")).to_have_text(HEBREW_CASE)
    for name in ANALYSES:
        panel = start_analysis(page, name)
        assert watch_progress(panel)[1] == "completed"
    results = page.locator("#case-view .result")
    expect(results).to_have_count(3)
    expect(page.locator("#case-view .demo-banner")).to_have_count(3)
    expect(page.locator("#case-view .demo-banner").first).to_contain_text("no language model was used")
    # Consistency: the case holds a medical report and a pay slip; none is listed as missing.
    checklist = page.locator("#case-view .checklist li")
    expect(checklist).to_have_count(2)
    expect(page.locator("#case-view .checklist li.missing")).to_have_count(0)
    form = page.locator("section.analysis", has=page.get_by_role("heading", name="Form 7801", exact=True))
    expect(form.locator(".readiness")).to_contain_text("Not ready to file")
    expect(form.locator(".form-7801 .facts").first).to_contain_text("יוסי לוי")
    expect(form.locator(".form-7801 .facts").first).to_contain_text("000000018")
    expect(page.locator(".case-head .badge")).to_have_text("New")
    screenshot(page, tmp_path, "demo-case-english")

    page.get_by_role("button", name="עברית").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#case-view .demo-banner").first).to_contain_text("לא נעשה שימוש במודל שפה")
    expect(page.locator(".case-head .badge")).to_have_text("חדש")
    expect(page.locator("#case-view .readiness")).to_contain_text("לא מוכן להגשה")
    allowed = _latin_words(page.evaluate(USER_DATA))
    leaks = [(word, context) for text, context in page.evaluate(VISIBLE_TEXT)
             for word in LATIN_WORD.findall(text) if word.casefold() not in allowed]
    screenshot(page, tmp_path, "demo-case-hebrew")
    assert not leaks, f"Latin words on the Hebrew page that are not user data: {leaks}"


def test_hebrew_progress_of_a_model_analysis_is_translated_from_its_codes(page: Page, tmp_path: Path):
    """With the (slow) fake language model, every progress line seen while the job runs is Hebrew."""
    sign_in(page)
    page.get_by_role("button", name="עברית").click()
    page.locator(".case-item", has_text=HEBREW_CASE).click()
    panel = page.locator("section.analysis").filter(has=page.get_by_role("heading", name="טופס 7801", exact=True))
    panel.get_by_role("button", name="הפעלה: טופס 7801").click()
    card = panel.locator(".job-card")
    expect(card).to_be_visible()
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while (card.get_attribute("data-status") or "") not in ("completed", "failed"):
        assert time.monotonic() < deadline, f"the job did not finish; progress seen: {seen}"
        text = panel.locator(".progress-message").inner_text()
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        time.sleep(0.05)
    screenshot(page, tmp_path, "hebrew-model-progress")
    assert card.get_attribute("data-status") == "completed"
    assert "מודל השפה כותב את הניתוח" in seen, seen  # the code model_writing, while the answer streams
    assert not [text for text in seen if LATIN_WORD.search(text)], seen
