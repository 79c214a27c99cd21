"""The real-world fixture files (``tests/cases/documents``) through the real HTTP upload.

The files and their README are a copy of the team's ``../shared/cases/documents`` (fictional content),
kept in the repository so that a clean clone and CI, which have no ``../shared``, run these tests too.

Each file's README row says what its stored text must contain; every marker must appear exactly once,
in the order listed (reading order).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import pytest

from tests.cases.files import new_case, upload

FIXTURES = Path(__file__).resolve().parent / "documents"
HEBREW_EXPECTED = FIXTURES / "hebrew_visual.expected.txt"

MARKERS = {
    "content_controls.docx": ["BLOCK-SDT-PARAGRAPH: Claimant Noa Ben-Ami, ID 000000026",
                              "BLOCK-SDT-PARAGRAPH-2: last day of work 2026-01-15",
                              "Monthly salary: INLINE-SDT-9800-ILS gross."],
    "textbox_and_header.docx": ["HEADER-CLINIC: Clinic Ramat Aviv",
                                "TEXTBOX-DIAGNOSIS: lumbar disc herniation, work capacity 40 percent"],
    "filled_form_fields.pdf": ["FIELD-NAME Yoav Carmeli", "FIELD-ID 000000034", "FIELD-EMPLOYER Blue Harbor Logistics",
                               "FIELD-DIAGNOSIS chronic lumbar pain since 2024", "FIELD-SALARY 11,400"],
    "trailing_padding.pdf": ["PADDED-PDF-MARKER: vitamin D low, 14 ng/mL"],
}
HEBREW_FILES = ["hebrew_visual_chromium.pdf", "hebrew_visual_fpdf2.pdf"]


async def stored_text(api, name: str) -> str:
    case_id = await new_case(api)
    reply = await upload(api, case_id, name, (FIXTURES / name).read_bytes())
    assert reply.status == 201, reply.json
    document = await api.get(reply.headers["Location"])
    assert document.status == 200
    return document.json["text"]


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("name", sorted(MARKERS))
async def test_shared_fixture_markers_are_stored_once_in_reading_order(api, name):
    text = await stored_text(api, name)
    positions = []
    for marker in MARKERS[name]:
        assert text.count(marker) == 1, marker
        positions.append(text.index(marker))
    assert positions == sorted(positions)


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("name", HEBREW_FILES)
async def test_shared_hebrew_fixture_lines_come_out_in_logical_order(api, name):
    text = await stored_text(api, name)
    stored_lines = text.split("\n")
    for line in HEBREW_EXPECTED.read_text(encoding="utf-8").splitlines():
        if line.strip():
            assert line in stored_lines, line


@pytest.mark.gen_test(timeout=120)
async def test_shared_sparse_layout_pdf_leaves_server_memory_bounded(api):
    server = psutil.Process()
    case_id = await new_case(api)
    data = (FIXTURES / "sparse_layout_150k.pdf").read_bytes()
    before = server.memory_info().rss
    reply_future = asyncio.ensure_future(upload(api, case_id, "sparse_layout_150k.pdf", data))
    peak = before
    while not reply_future.done():
        peak = max(peak, server.memory_info().rss)
        await asyncio.sleep(0.05)
    reply = await reply_future
    assert peak - before < 100 * 1024 * 1024
    assert server.memory_info().rss - before < 50 * 1024 * 1024  # not kept grown
    if reply.status == 422:
        assert reply.json["code"] == "extraction_too_costly"
    else:
        assert reply.status == 201 and any("column layout was not kept" in w for w in reply.json["warnings"])
        text = (await api.get(reply.headers["Location"])).json["text"]
        assert len(text) < 200_000
