"""``/docs`` in a real Chromium: Swagger UI renders under the page's strict CSP (a violation is a
console error, which fails the test) and sends a request with a pasted token."""

from __future__ import annotations

from server.auth import mint_token


def test_docs_renders_and_sends_a_request_with_a_pasted_token(page, live_server):
    token = mint_token(live_server.services.settings.auth, "docs-user")
    page.goto("/docs")
    page.locator("#operations-cases-listCases").wait_for()
    page.locator("button.authorize").first.click()
    page.locator(".modal-ux input").first.fill(token)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()
    page.locator("#operations-cases-listCases .opblock-summary").click()
    page.locator("#operations-cases-listCases button.execute").click()
    status = page.locator("#operations-cases-listCases .live-responses-table .response .response-col_status")
    status.first.wait_for()
    assert status.first.inner_text().strip() == "200"
    body = page.locator("#operations-cases-listCases .live-responses-table .microlight").first.inner_text()
    assert '"cases"' in body and '"count"' in body
