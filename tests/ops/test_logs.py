"""Logs: one line per request and per job event, text or JSON, and never a token, transcript,
document text or result, even when a job crashes with that text in its exception.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re

import pytest

from server.config import ObservabilitySettings
from server.logs import format_exception_safely, make_handler
from tests.cases.files import new_case, upload
from tests.ops.conftest import SECRET_TEXT
from tests.waiting import settle

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SECRET_WORDS = ("Yael", "Mizrahi", "012345678", "Haifa")


@pytest.fixture(params=["text", "json"])
def captured(request):
    """Everything the server logs, formatted as production would (text or JSON lines)."""
    stream = io.StringIO()
    handler = make_handler(ObservabilitySettings(log_format=request.param), stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield request.param, stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def assert_clean(output: str, token: str) -> None:
    assert token not in output and token.split(".")[2] not in output
    for word in SECRET_WORDS:
        assert word not in output, word


async def run_job(api, services, params: dict) -> dict:
    created = await api.post("/test/jobs", body={"job_type": "secretive", "params": params})
    assert created.status == 202
    job_id = created.json["job_id"]
    await settle(lambda: services.store._jobs[job_id].is_terminal)
    final = await api.get(f"/jobs/{job_id}?case_id=Yael")  # a query string never reaches the log
    assert final.status == 200
    return final.json


@pytest.mark.gen_test(timeout=10)
async def test_full_job_lifecycle_is_logged_without_personal_text(api, services, captured):
    log_format, stream = captured
    job = await run_job(api, services, {"text": SECRET_TEXT})
    assert job["status"] == "completed" and job["result"] == {"summary": SECRET_TEXT}  # the client gets it
    output = stream.getvalue()
    assert_clean(output, api.token())
    job_id = job["job_id"]
    for event in ("job created", "job started", "job finished"):
        assert f"{event} job_id={job_id} job_type=secretive user_id=alice" in output, event
    for mark in (25, 50, 75):
        assert f"job progress job_id={job_id} job_type=secretive user_id=alice progress={mark}" in output
    assert "outcome=completed duration=" in output
    assert "tornado.access" not in output
    if log_format == "json":
        records = [json.loads(line) for line in output.splitlines()]
        access = [r for r in records if r["name"] == "server.access"]
        assert {r["route"] for r in access} == {"/test/jobs", "/jobs/{id}"}
        get = next(r for r in access if r["route"] == "/jobs/{id}")
        assert get["path"] == f"/jobs/{job_id}" and get["status"] == 200 and get["user_id"] == "alice"
        assert get["method"] == "GET" and isinstance(get["duration_ms"], float)
    else:
        assert f"request method=GET path=/jobs/{job_id} status=200 duration_ms=" in output
        assert "user_id=alice" in output


@pytest.mark.gen_test(timeout=10)
async def test_crash_with_personal_text_in_the_exception_logs_only_its_type(api, services, captured):
    _, stream = captured
    job = await run_job(api, services, {"text": SECRET_TEXT, "crash": True})
    assert job["status"] == "failed" and job["error_code"] == "internal"
    assert not any(word in job["error"] for word in SECRET_WORDS)  # nor does the client see it
    output = stream.getvalue()
    assert_clean(output, api.token())
    assert "ValueError" in output and "message withheld" in output and "job crashed" in output


@pytest.mark.gen_test(timeout=10)
async def test_bad_token_and_errors_are_logged_without_the_token(api, captured):
    _, stream = captured
    forged = api.token() + "x"
    reply = await api.get("/jobs", user=None, headers={"Authorization": f"Bearer {forged}"})
    assert reply.status == 401
    output = stream.getvalue()
    assert forged.split(".")[2] not in output and "status=401" in output.replace('"status": 401', "status=401")


def test_chained_exception_messages_are_withheld():
    name, number = SECRET_WORDS[0], SECRET_WORDS[2]  # source lines are printed, runtime values are not
    try:
        try:
            raise KeyError(name)
        except KeyError as inner:
            raise RuntimeError(number) from inner
    except RuntimeError as outer:
        text = format_exception_safely((type(outer), outer, outer.__traceback__))
    assert "KeyError" in text and "RuntimeError" in text
    assert "Yael" not in text and "012345678" not in text


DOCUMENT_TEXT = "Discharge letter: Rivka Shalom, born 1961, lumbar fracture L3, 40% disability, Beersheba clinic."
DOCUMENT_WORDS = ("Rivka", "Shalom", "lumbar fracture", "Beersheba")


@pytest.mark.gen_test(timeout=30)
async def test_full_analyses_through_the_endpoints_log_no_transcript_document_or_result(api, services, captured):
    _, stream = captured
    case_id = await new_case(api, title="Port injury", transcript=SECRET_TEXT)
    uploaded = await upload(api, case_id, "letter.txt", DOCUMENT_TEXT.encode(), document_type="medical_report")
    assert uploaded.status == 201, uploaded.json
    started = [await api.post(path, body={}) for path in (f"/vapi/re-analyze-call/{case_id}",
                                                          f"/cases/{case_id}/analyze-with-agent",
                                                          f"/cases/{case_id}/analyze-documents-form7801")]
    assert [reply.status for reply in started] == [202, 202, 202], [reply.json for reply in started]
    job_ids = [reply.json["job_id"] for reply in started]
    await settle(lambda: all(services.store._jobs[job_id].is_terminal for job_id in job_ids), timeout=20)
    results = [(await api.get(f"/jobs/{job_id}")).json for job_id in job_ids]
    assert [job["status"] for job in results] == ["completed"] * 3, [job["error"] for job in results]
    output = stream.getvalue()
    assert_clean(output, api.token())
    for word in DOCUMENT_WORDS:
        assert word not in output, word
    for job in results:  # nor any text of a result longer than a few words (ids may be logged)
        for value in _strings(job["result"]):
            if len(value) > 24 and not UUID.match(value):
                assert value not in output, value
        assert f"job finished job_id={job['job_id']} job_type={job['job_type']} user_id=alice" in output


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_worker_of_several_names_itself_and_its_pid_on_every_line(log_format):
    stream = io.StringIO()
    handler = make_handler(ObservabilitySettings(log_format=log_format), stream, worker=1)
    handler.handle(logging.makeLogRecord({"name": "server", "levelno": logging.INFO, "levelname": "INFO",
                                          "msg": "listening on %s", "args": ("http://0.0.0.0:8000",)}))
    line = stream.getvalue()
    if log_format == "json":
        record = json.loads(line)
        assert (record["worker"], record["pid"], record["message"]) == (1, os.getpid(), "listening on http://0.0.0.0:8000")
    else:
        assert f" server worker=1 pid={os.getpid()} listening on http://0.0.0.0:8000" in line


def test_a_lone_process_adds_no_worker_tag():
    stream = io.StringIO()
    make_handler(ObservabilitySettings(log_format="text"), stream).handle(
        logging.makeLogRecord({"name": "server", "levelno": logging.INFO, "levelname": "INFO", "msg": "hello"}))
    assert stream.getvalue().endswith(" INFO server hello\n")
