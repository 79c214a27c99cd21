"""Browser scenarios: the three analyses against the fake LLM server, with progress, results,
cancel, failure and retry, and the two-long-polls rule."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.fakes.fake_provider import Reply
from tests.page.helpers import (
    LongPollCounter,
    analysis,
    create_case,
    make_pdf,
    screenshot,
    sign_in,
    start_analysis,
    upload,
    watch_progress,
)

TRANSCRIPT = ("I hurt my back in a work accident in March 2024 and cannot work. Dr. Stein sent me to surgery. "
              "I earned 9,000 ILS a month. Do I need a medical report and pay slips for National Insurance?")


def open_case_with_document(page, tmp_path, title):
    sign_in(page)
    create_case(page, title, TRANSCRIPT)
    upload(page, make_pdf(tmp_path / "medical-summary.pdf"))
    expect(page.locator("#documents-table")).to_contain_text("medical-summary.pdf")


def assert_progress_moved(seen, status):
    assert status == "completed", seen
    between = [value for value in seen if 0 < value < 100]
    assert len(set(between)) >= 2, f"the bar should move through several values, saw {seen}"
    assert seen == sorted(seen), f"progress must never go back, saw {seen}"
    assert seen[-1] == 100


def test_each_analysis_shows_moving_progress_and_a_readable_result(page, tmp_path):
    polls = LongPollCounter(page)
    open_case_with_document(page, tmp_path, "Three analyses")

    panel = start_analysis(page, "Call analysis")
    expect(panel.locator(".progress-message")).not_to_be_empty()
    expect(panel.locator(".elapsed")).to_contain_text(re.compile(r"elapsed \d+:\d\d"))
    expect(panel.get_by_role("button", name="Cancel")).to_be_visible()
    assert_progress_moved(*watch_progress(panel))
    result = panel.locator(".result")
    expect(result.get_by_role("heading", name="Call summary")).to_be_visible()
    expect(result.locator(".risk .badge")).to_have_text(
        re.compile("High viability|Low viability|Needs more information"))
    expect(result.locator(".amount-value").first).to_contain_text("₪")
    chance = result.get_by_role("meter", name="Chance of approval")
    expect(chance).to_have_attribute("aria-valuenow", re.compile(r"\d+"))
    expect(result.locator(".checklist li").first).to_be_visible()
    expect(panel.get_by_role("button", name="Cancel")).to_be_hidden()
    assert "{" not in result.inner_text(), "the result must be rendered, not shown as JSON"
    screenshot(page, tmp_path, "call-analysis")

    panel = start_analysis(page, "Document analysis")
    assert_progress_moved(*watch_progress(panel))
    result = panel.locator(".result")
    expect(result.get_by_role("meter", name="Claim strength")).to_be_visible()
    expect(result.get_by_role("heading", name="Summary")).to_be_visible()
    screenshot(page, tmp_path, "document-analysis")

    panel = start_analysis(page, "Form 7801")
    assert_progress_moved(*watch_progress(panel))
    form = panel.locator(".form-7801")
    for legend in ("Personal details", "Employment history", "Disability", "Bank account",
                   "Medical confidentiality waiver"):
        expect(form.locator("legend", has_text=legend)).to_be_visible()
    expect(panel.get_by_role("meter", name="Form completion")).to_be_visible()
    panel.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "form-7801")

    jobs = page.locator("#jobs-list li")
    expect(jobs).to_have_count(3)
    expect(jobs.filter(has_text="Completed")).to_have_count(3)
    assert polls.most <= 2, f"{polls.most} long-polls were open at once"
    assert polls.most >= 1, "the page should follow jobs by long-polling"


def test_cancel_a_running_job(page, tmp_path, live_server):
    live_server.fake_llm.script(Reply.slow(8))
    sign_in(page)
    create_case(page, "Cancel me", TRANSCRIPT)
    panel = start_analysis(page, "Call analysis")
    card = panel.locator(".job-card")
    expect(card).to_have_attribute("data-status", "running")
    screenshot(page, tmp_path, "running")
    panel.get_by_role("button", name="Cancel").click()
    expect(card).to_have_attribute("data-status", "failed")
    expect(card.locator(".badge")).to_have_text("Cancelled")
    expect(card.get_by_role("alert").first).to_have_text("The analysis was cancelled. Press Retry to run it again.")
    expect(panel.get_by_role("button", name="Retry")).to_be_visible()
    screenshot(page, tmp_path, "cancelled")


def test_provider_failure_shows_the_message_and_retry_works(page, tmp_path, live_server):
    live_server.fake_llm.script(Reply.server_error(503))
    sign_in(page)
    create_case(page, "Provider down", TRANSCRIPT)
    panel = start_analysis(page, "Call analysis")
    _, status = watch_progress(panel)
    assert status == "failed"
    expect(panel.locator(".job-card > .error").first).to_have_text(
        "The analysis service is unavailable or did not answer in time. Press Retry in a few minutes.")
    screenshot(page, tmp_path, "failed")
    panel.get_by_role("button", name="Retry").click()
    expect(panel.locator(".job-card")).to_have_attribute("data-status", re.compile("pending|running|completed"))
    _, status = watch_progress(panel)
    assert status == "completed"
    expect(panel.locator(".result")).to_be_visible()
    expect(panel.get_by_role("button", name="Retry")).to_be_hidden()
    screenshot(page, tmp_path, "retried")


def test_an_analysis_without_input_shows_the_servers_reason(page, tmp_path):
    sign_in(page)
    create_case(page, "Empty case")
    panel = analysis(page, "Document analysis")
    panel.get_by_role("button", name="Start Document analysis").click()
    expect(panel.get_by_role("alert").first).to_contain_text("no document")
