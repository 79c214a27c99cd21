"""The truncation rule and the requested-documents merge, as pure functions."""

from __future__ import annotations

from server.analysis.budget import cut, fair_shares
from server.analysis.merge import merge_requested_documents


def test_fair_shares_gives_short_texts_everything_and_splits_the_rest():
    assert fair_shares([100, 5000, 5000], 1100) == [100, 500, 500]
    assert fair_shares([10, 20], 100) == [10, 20]
    assert sum(fair_shares([7, 9000, 3000, 1], 1000)) == 1000


def test_cut_keeps_beginning_and_says_how_much_was_omitted():
    text = "a" * 1000
    out = cut(text, 200)
    assert len(out) <= 200 and out.startswith("a" * 100)
    kept = out.index("\n")
    assert out.endswith(f"[... truncated: {1000 - kept} characters omitted]")
    assert cut("short", 200) == "short"


def test_merge_without_previous_analysis_keeps_model_items():
    new = {"documents_requested_list": [{"name": "A", "uploaded": False}]}
    assert merge_requested_documents(new, None) == {
        "documents_requested_list": [{"name": "A", "uploaded": False, "document_id": None}]}
