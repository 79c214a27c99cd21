"""Case endpoints through real HTTP: create, get, list, call details, delete, and who may see what."""

from __future__ import annotations

import uuid

import pytest

from server.pagination import decode_cursor
from tests.cases.files import new_case


@pytest.mark.gen_test(timeout=10)
async def test_create_case_answers_201_with_location_and_case(api):
    reply = await api.post("/cases", body={"title": "  Back injury claim ",
                                           "call_details": {"transcript": "שלום, נפגעתי בעבודה", "messages": []}})
    assert reply.status == 201
    case = reply.json
    assert reply.headers["Location"] == f"/cases/{case['case_id']}"
    assert case["title"] == "Back injury claim" and case["status"] == "New" and case["user_id"] == "alice"
    assert case["call_details"] == {"transcript": "שלום, נפגעתי בעבודה", "messages": []}
    assert case["call_summary"] is None and case["agent_analysis"] is None and case["final_document_analysis"] is None
    assert case["documents_count"] == 0
    again = await api.get(reply.headers["Location"])
    assert again.status == 200 and again.json == case


@pytest.mark.gen_test(timeout=10)
async def test_create_case_without_call_details_has_empty_transcript(api):
    reply = await api.post("/cases", body={"title": "No call yet"})
    assert reply.status == 201 and reply.json["call_details"] == {"transcript": "", "messages": []}


@pytest.mark.gen_test(timeout=10)
@pytest.mark.parametrize("body", [{"title": "   "}, {"title": "x", "owner_id": "bob"}, {}, {"title": "x" * 201},
                                  {"title": "x", "call_details": {"transcript": 5}}])
async def test_create_case_invalid_body_is_400(api, body):
    reply = await api.post("/cases", body=body)
    assert reply.status == 400 and reply.json["code"] == "invalid_body"


@pytest.mark.gen_test(timeout=10)
async def test_create_case_not_json_is_415(api):
    reply = await api.post("/cases", body="title=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 415


@pytest.mark.gen_test(timeout=10)
async def test_cases_need_a_token(api):
    reply = await api.get("/cases", user=None)
    assert reply.status == 401 and reply.json["code"] == "invalid_token"


@pytest.mark.gen_test(timeout=10)
async def test_get_case_of_another_user_is_404_like_unknown(api):
    case_id = await new_case(api, user="alice")
    theirs = await api.get(f"/cases/{case_id}", user="mallory")
    unknown = await api.get(f"/cases/{uuid.uuid4()}", user="mallory")
    assert theirs.status == unknown.status == 404
    assert theirs.body == unknown.body
    assert theirs.json == {"detail": "Case not found", "code": "not_found"}
    assert (await api.get(f"/cases/{case_id}", user="root", admin=True)).status == 200


@pytest.mark.gen_test(timeout=10)
async def test_get_case_malformed_id_is_400(api):
    reply = await api.get("/cases/not-a-uuid")
    assert reply.status == 400 and reply.json["code"] == "invalid_case_id"


@pytest.mark.gen_test(timeout=10)
async def test_list_cases_is_paginated_newest_first_and_own_only(api):
    ids = [await new_case(api, title=f"case {n}") for n in range(5)]
    await new_case(api, user="bob")
    first = await api.get("/cases?limit=2")
    assert first.status == 200
    assert [c["case_id"] for c in first.json["cases"]] == ids[::-1][:2] and first.json["count"] == 2
    assert set(first.json["cases"][0]) >= {"case_id", "title", "status", "has_transcript", "documents_count"}
    assert "call_details" not in first.json["cases"][0]
    second = await api.get(f"/cases?limit=2&cursor={first.json['next_cursor']}")
    third = await api.get(f"/cases?limit=2&cursor={second.json['next_cursor']}")
    assert [c["case_id"] for c in second.json["cases"] + third.json["cases"]] == ids[::-1][2:]
    assert third.json["next_cursor"] is None
    everyone = await api.get("/cases", user="root", admin=True)
    assert everyone.json["count"] == 6


@pytest.mark.gen_test(timeout=10)
async def test_list_cases_page_cursor_names_the_callers_own_case_and_expires_with_it(api):
    ids = [await new_case(api, title=f"case {n}") for n in range(3)]
    first = (await api.get("/cases?limit=2")).json
    await new_case(api, user="bob")
    assert (await api.get("/cases?limit=2")).json["next_cursor"] == first["next_cursor"]
    assert decode_cursor(first["next_cursor"]) == ids[1]
    assert (await api.get(f"/cases?limit=2&cursor={first['next_cursor']}", user="bob")).status == 410
    assert (await api.request("DELETE", f"/cases/{ids[1]}")).status == 204
    gone = await api.get(f"/cases?limit=2&cursor={first['next_cursor']}")
    assert gone.status == 410 and gone.json["code"] == "cursor_expired"


@pytest.mark.gen_test(timeout=10)
@pytest.mark.parametrize("query", ["cursor=bogus", "limit=0", "limit=201", "limit=x"])
async def test_list_cases_bad_query_is_400(api, query):
    reply = await api.get(f"/cases?{query}")
    assert reply.status == 400


@pytest.mark.gen_test(timeout=10)
async def test_put_call_details_replaces_them(api):
    case_id = await new_case(api, transcript="old")
    details = {"transcript": "Agent: hello\nClient: I was injured at work", "messages": [{"role": "agent",
                                                                                          "content": "hello"}]}
    reply = await api.request("PUT", f"/cases/{case_id}/call-details", body=details)
    assert reply.status == 200 and reply.json["call_details"] == details
    assert reply.json["updated_at"] >= reply.json["created_at"]
    assert (await api.get(f"/cases/{case_id}")).json["call_details"] == details


@pytest.mark.gen_test(timeout=10)
async def test_put_call_details_of_another_user_is_404_and_changes_nothing(api):
    case_id = await new_case(api, transcript="mine")
    reply = await api.request("PUT", f"/cases/{case_id}/call-details", body={"transcript": "x"}, user="mallory")
    assert reply.status == 404
    assert (await api.get(f"/cases/{case_id}")).json["call_details"]["transcript"] == "mine"


@pytest.mark.gen_test(timeout=10)
async def test_put_call_details_unknown_field_is_400(api):
    case_id = await new_case(api)
    reply = await api.request("PUT", f"/cases/{case_id}/call-details", body={"transcript": "x", "extra": 1})
    assert reply.status == 400 and "unknown field" in reply.json["detail"]


@pytest.mark.gen_test(timeout=10)
async def test_delete_case_is_204_then_404(api):
    case_id = await new_case(api)
    assert (await api.request("DELETE", f"/cases/{case_id}", user="mallory")).status == 404
    reply = await api.request("DELETE", f"/cases/{case_id}")
    assert reply.status == 204 and reply.body == b""
    assert (await api.get(f"/cases/{case_id}")).status == 404
    assert (await api.request("DELETE", f"/cases/{case_id}")).status == 404


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser's stack
    b'{"title": "t", "call_details": {"transcript": "x", "messages": [{"a": NaN}]}}',  # not JSON
    b'{"title": Infinity}',
])
@pytest.mark.gen_test(timeout=20)
async def test_create_case_with_pathological_json_is_400_malformed_json(api, body):
    reply = await api.post("/cases", body=body, headers={"Content-Type": "application/json"})
    assert reply.status == 400 and reply.json["code"] == "malformed_json"
