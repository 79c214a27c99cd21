"""Browser scenarios: markup from users and models shows as text and runs nothing; the Hebrew UI."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from server.page import CONTENT_SECURITY_POLICY
from tests.fakes.canned import canned_output
from tests.fakes.fake_provider import Reply
from tests.page.helpers import create_case, screenshot, sign_in, start_analysis, watch_progress

TITLE = '<img src=x onerror="window.__xss = \'title\'">Markup case'
TRANSCRIPT = ("<script>window.__xss = 'script'</script>\n"
              "<img src=x onerror=\"window.__xss = 'img'\"> I hurt my back at work and need a medical report.")
MODEL_MARKUP = '<img src=x onerror="window.__xss = \'model\'"><b>bold</b>'


def test_markup_in_a_transcript_and_in_model_output_is_shown_as_text(page, tmp_path, live_server):
    response = page.goto("/")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    output = canned_output({"properties": {}})  # a valid call analysis
    output["call_summary"] = MODEL_MARKUP
    output["documents_requested_list"][0]["name"] = MODEL_MARKUP
    live_server.fake_llm.script(Reply.ok(output))
    sign_in(page)
    create_case(page, TITLE, TRANSCRIPT)
    expect(page.locator(".transcript pre")).to_have_text(TRANSCRIPT)
    expect(page.locator(".case-item[aria-current=true] .case-title")).to_have_text(TITLE)
    panel = start_analysis(page, "Call analysis")
    assert watch_progress(panel)[1] == "completed"
    expect(panel.locator(".result")).to_contain_text(MODEL_MARKUP)
    expect(panel.locator(".checklist .doc-name").first).to_have_text(MODEL_MARKUP)
    page.wait_for_timeout(300)  # give any injected handler the chance to run
    assert page.evaluate("window.__xss") is None
    assert page.locator("main img, main script, main b").count() == 0
    screenshot(page, tmp_path, "markup-as-text")


def test_hebrew_ui_is_right_to_left_and_formats_shekels(page, tmp_path):
    sign_in(page)
    page.get_by_role("button", name="עברית").click()
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "he")
    expect(page.get_by_role("heading", name="תיקים", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="יציאה")).to_be_visible()
    page.locator(".case-item", has_text="(דמו)").filter(has_text=re.compile("[א-ת]")).first.click()
    expect(page.locator("#case-heading")).to_have_attribute("dir", "auto")
    panel = page.locator("section.analysis").filter(has=page.get_by_role("heading", name="ניתוח שיחה", exact=True))
    panel.get_by_role("button", name="הפעלה: ניתוח שיחה").click()
    expect(panel.locator(".job-card")).to_be_visible()
    assert watch_progress(panel)[1] == "completed"
    expect(panel.locator(".job-card .badge").first).to_have_text("הושלם")
    expect(panel.get_by_role("meter", name="סיכוי לאישור")).to_be_visible()
    amounts = panel.locator(".facts dd, .amount-value").all_inner_texts()
    assert any("₪" in text for text in amounts), amounts
    box = page.locator(".cases-panel").bounding_box()
    assert box and box["x"] > 700, "in RTL the cases column is on the right"
    screenshot(page, tmp_path, "hebrew-rtl")
    page.get_by_role("button", name="English").click()
    expect(html).to_have_attribute("dir", "ltr")
    expect(page.locator("#case-view .job-card .badge").first).to_have_text("Completed")  # redrawn in English
