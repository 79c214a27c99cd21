"""Dev-mode demo data: seeded once, readable, and enough to start the three analyses."""

from __future__ import annotations

import pytest

from server.app import startup
from server.cases.demo import DEV_USER


@pytest.mark.gen_test(timeout=20)
async def test_startup_in_dev_mode_seeds_demo_cases_once(api, services):
    await startup(services)
    await startup(services)  # not empty any more: nothing added
    listing = await api.get("/cases", user=DEV_USER)
    assert listing.json["count"] == 3
    assert (await api.get("/cases", user="alice")).json["count"] == 0
    hebrew = next(c for c in listing.json["cases"] if "יוסי" in c["title"] and c["has_transcript"])
    documents = (await api.get(f"/cases/{hebrew['case_id']}/documents", user=DEV_USER)).json["documents"]
    assert {d["document_type"] for d in documents} == {"medical_report", "pay_slip"}
    assert all(d["text_found"] for d in documents)
    pdf = next(d for d in documents if d["file_name"].endswith(".pdf"))
    text = (await api.get(f"/cases/{hebrew['case_id']}/documents/{pdf['document_id']}", user=DEV_USER)).json["text"]
    assert "אבחנה: פריצת דיסק L4-L5 וכאבי גב תחתון כרוניים." in text
