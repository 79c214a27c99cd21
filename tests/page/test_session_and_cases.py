"""Browser scenarios: signing in and out, creating a case, uploading documents."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.page.helpers import create_case, make_pdf, screenshot, sign_in, upload

NOTE = "Doctor's note: the patient cannot lift more than 5 kg. מכתב רופא."


def test_sign_in_keeps_the_token_for_the_tab_and_sign_out_clears_it(page, tmp_path):
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, tmp_path, "sign-in")
    page.get_by_role("button", name="Sign in as dev-admin").focus()
    page.keyboard.press("Enter")  # real buttons: the keyboard works
    expect(page.locator("#whoami")).to_have_text("dev-admin")
    assert page.evaluate("sessionStorage.getItem('caseApp.token')")
    assert page.evaluate("localStorage.getItem('caseApp.token')") is None
    page.reload()
    expect(page.locator("#whoami")).to_have_text("dev-admin")
    expect(page.locator("#whoami-role")).to_have_text("admin")
    screenshot(page, tmp_path, "signed-in-admin")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('caseApp.token')") is None


def test_a_rejected_token_shows_the_server_message(page, tmp_path):
    page.goto("/")
    page.get_by_label("Access token").fill("not-a-token")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#sign-in-error")).to_contain_text("The server did not accept this token")
    expect(page.locator("#workspace")).to_be_hidden()


def test_create_a_case_and_upload_a_pdf_shows_per_file_results(page, tmp_path):
    sign_in(page)
    create_case(page, "Dana Levi - back injury", "I hurt my back at work in March 2024.")
    expect(page.locator(".transcript pre")).to_have_text("I hurt my back at work in March 2024.")
    pdf = make_pdf(tmp_path / "medical-summary.pdf", pages=2)
    junk = tmp_path / "photo.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    page.get_by_label("Document type").select_option("medical_report")
    upload(page, pdf, junk)
    results = page.locator(".upload-results li")
    expect(results).to_have_count(2)
    ok = results.filter(has_text="medical-summary.pdf")
    expect(ok).to_contain_text("uploaded")
    expect(ok).to_contain_text("2 pages")
    expect(ok).to_contain_text("text found")
    refused = results.filter(has_text="photo.png")
    expect(refused).to_have_class("failed")
    expect(refused.locator(".upload-status")).not_to_be_empty()
    # Drag and drop: a text file dropped on the zone.
    dropped = page.evaluate_handle("""(text) => {
        const data = new DataTransfer();
        data.items.add(new File([text], 'note.txt', { type: 'text/plain' }));
        return data;
    }""", NOTE)
    page.locator(".dropzone").dispatch_event("drop", {"dataTransfer": dropped})
    expect(results).to_have_count(3)
    expect(results.filter(has_text="note.txt")).to_contain_text("text found")
    table = page.locator("#documents-table")
    expect(table).to_contain_text("medical-summary.pdf")
    expect(table).to_contain_text("Medical report")
    expect(table).to_contain_text("note.txt")
    expect(page.locator(".case-item[aria-current=true]")).to_contain_text("2 documents")
    screenshot(page, tmp_path, "case-with-upload")
