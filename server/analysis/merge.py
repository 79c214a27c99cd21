"""Keeping what a case already knew when a call is analysed again."""

from __future__ import annotations

from typing import Any


def _key(name: Any) -> str:
    return " ".join(str(name or "").split()).casefold()


def merge_requested_documents(new: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """Return the new call analysis where every ``documents_requested_list`` item whose name matches
    (case- and whitespace-insensitive) an item of the previous analysis keeps that item's
    ``document_id``, and is ``uploaded`` if either says so (a held document is never "missing").
    Items without a match are kept as the model gave them, with ``document_id: null`` (the link
    is the case's, not the model's).
    """
    known = {_key(item.get("name")): item for item in (previous or {}).get("documents_requested_list", [])
             if isinstance(item, dict)}
    merged = []
    for item in new.get("documents_requested_list", []):
        before = known.get(_key(item.get("name")))
        item = {**item, "document_id": None}
        if before is not None:
            item = {**item, "uploaded": bool(item.get("uploaded")) or bool(before.get("uploaded", False)),
                    "document_id": before.get("document_id")}
        merged.append(item)
    return {**new, "documents_requested_list": merged}
