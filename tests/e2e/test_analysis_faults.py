"""The three analysis jobs through the whole stack: HTTP endpoints, job runner, the app's real
ProviderSet and the real openai/anthropic SDKs, against the fake provider server.

Each test creates a case with a transcript and an uploaded document over HTTP, starts an analysis,
long-polls the job to its end, and checks the job, the requests the fake got, and the case.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from server.analysis.inputs import AnalysisKind
from server.config import Settings
from tests.cases import files
from tests.cases.files import new_case
from tests.e2e.conftest import ANTHROPIC_KEY, OPENAI_KEY
from tests.fakes.canned import canned_output
from tests.fakes.fake_provider import Reply
from tests.fakes.fake_wire import REFUSAL_TEXT

OWNER = "owner-5d2e81"
CLERK = "clerk-9b7c44"  # an admin who uploads the document: the uploader differs from the owner
FILE_NAME = "moshe_cohen_medical_report.docx"
TRANSCRIPT = "TRANSCRIPT-7c1e: נפגעתי בגב בתאונת עבודה ואני לא מסוגל לעבוד. הרופא כתב סיכום רפואי."
DOCUMENT_TEXT = "DOCUMENT-4a9f: סיכום רפואי. Diagnosis: lumbar disc herniation. Disability 40%."
OUTPUT_MARKER = "OUTPUT-e2e-91d3"

CALL, AGENT, FORM = AnalysisKind.CALL_ANALYSIS, AnalysisKind.DOCUMENT_ANALYSIS_AGENT, \
    AnalysisKind.DOCUMENT_ANALYSIS_FORM7801
ENDPOINTS = {CALL: "/vapi/re-analyze-call/{}", AGENT: "/cases/{}/analyze-with-agent",
             FORM: "/cases/{}/analyze-documents-form7801"}
COLUMNS = {CALL: "call_summary", AGENT: "agent_analysis", FORM: "final_document_analysis"}
SUMMARY_FIELD = {CALL: "call_summary", AGENT: "summary", FORM: "summary"}
# The default vendor of each job type, and the path its SDK posts to.
VENDORS = {CALL: "openai", AGENT: "anthropic", FORM: "openai"}
WIRE_PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
CASE_FIELDS = ("call_summary", "agent_analysis", "final_document_analysis", "status", "updated_at")

MESSAGES = {
    "rate_limited": "The analysis service is busy (rate limit reached). Please try again in a few minutes.",
    "provider_unavailable": "The analysis service is unavailable or did not answer in time. Please try again later.",
    "invalid_output": "The analysis service returned an answer that could not be used. Please try again.",
    "truncated": "The analysis was cut off because it grew too long. Please try again with fewer documents.",
    "refused": "The analysis service declined to analyse this case.",
    "provider_auth": "The analysis service rejected the server's credentials. Please contact the administrator.",
}

# fault -> (reply, error_code, message key, requests the fake gets with LLM_MAX_RETRIES=2)
FAULTS: dict[str, tuple[Callable[[], Reply], str, str, int]] = {
    "rate_limited": (lambda: Reply.rate_limited(0.01), "rate_limited", "rate_limited", 3),
    "server_error": (Reply.server_error, "provider_unavailable", "provider_unavailable", 3),
    "slow": (lambda: Reply.slow(2.5), "provider_unavailable", "provider_unavailable", 3),  # timeout is 1 s
    "malformed": (Reply.malformed, "invalid_output", "invalid_output", 1),
    "truncated": (Reply.truncated, "invalid_output", "truncated", 1),
    "refusal": (Reply.refusal, "refused", "refused", 1),
    "unauthorized": (Reply.unauthorized, "provider_auth", "provider_auth", 1),
}


def valid_output(kind: AnalysisKind) -> dict[str, Any]:
    """A schema-valid analysis of ``kind`` carrying ``OUTPUT_MARKER``, for the fake to write."""
    output = canned_output(kind.schema.model_json_schema())
    output[SUMMARY_FIELD[kind]] = f"{OUTPUT_MARKER} {kind.value}"
    return output


async def case_with_inputs(api) -> tuple[str, str]:
    """A case of ``OWNER`` with ``TRANSCRIPT`` and one DOCX uploaded by ``CLERK``; (case_id, document_id)."""
    case_id = await new_case(api, user=OWNER, transcript=TRANSCRIPT)
    body, content_type = files.multipart(FILE_NAME, files.docx([DOCUMENT_TEXT]), document_type="medical_report")
    reply = await api.post(f"/cases/{case_id}/documents", body=body, user=CLERK, admin=True,
                           headers={"Content-Type": content_type})
    assert reply.status == 201 and reply.json["text_found"], reply.json
    assert reply.json["uploaded_by"] == CLERK
    return case_id, reply.json["document_id"]


async def get_case(api, case_id: str) -> dict[str, Any]:
    reply = await api.get(f"/cases/{case_id}", user=OWNER)
    assert reply.status == 200
    return reply.json


async def analyse(api, kind: AnalysisKind, case_id: str) -> dict[str, Any]:
    """POST the analysis and long-poll the job until it is finished; the job's public view."""
    started = await api.post(ENDPOINTS[kind].format(case_id), user=OWNER)
    assert started.status == 202, started.json
    job_id = started.json["job_id"]
    for _ in range(5):
        reply = await api.get(f"/jobs/{job_id}?wait=10&until=finished", user=OWNER, timeout=15)
        assert reply.status == 200
        if reply.json["status"] in ("completed", "failed"):
            assert reply.json["job_type"] == kind.value
            return reply.json
    raise AssertionError(f"job {job_id} did not finish")


def default_model(settings: Settings, kind: AnalysisKind) -> str:
    return settings.llm.openai_model if VENDORS[kind] == "openai" else settings.llm.anthropic_model


@pytest.mark.parametrize("kind", list(AnalysisKind), ids=lambda kind: kind.value)
@pytest.mark.gen_test(timeout=30)
async def test_analysis_valid_output_completes_and_writes_case(api, fake_llm, settings, kind):
    case_id, _ = await case_with_inputs(api)
    before = await get_case(api, case_id)
    fake_llm.script(Reply.ok(valid_output(kind)))
    job = await analyse(api, kind, case_id)
    assert job["status"] == "completed", job["error"]
    assert job["error"] is None and job["error_code"] is None
    result = job["result"]
    assert result["provider"] == VENDORS[kind] and result["model"] == default_model(settings, kind)
    assert result["analysis"][SUMMARY_FIELD[kind]] == f"{OUTPUT_MARKER} {kind.value}"
    requests = fake_llm.requests
    assert len(requests) == 1 and requests[0].path == WIRE_PATHS[VENDORS[kind]]
    assert requests[0].body["model"] == result["model"]
    after = await get_case(api, case_id)
    assert after[COLUMNS[kind]] == result["analysis"]
    ready = kind is FORM and result["analysis"]["filing_readiness"]["ready"]  # the canned form is incomplete
    assert after["status"] == ("Submission pending" if ready else before["status"])
    for column in set(COLUMNS.values()) - {COLUMNS[kind]}:
        assert after[column] == before[column] is None


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", list(AnalysisKind), ids=lambda kind: kind.value)
@pytest.mark.gen_test(timeout=30)
async def test_analysis_fault_fails_job_and_leaves_case_unchanged(api, fake_llm, kind, fault):
    make_reply, code, message, attempts = FAULTS[fault]
    case_id, _ = await case_with_inputs(api)
    fake_llm.script(Reply.ok(valid_output(kind)))  # an earlier analysis the failure must not touch
    assert (await analyse(api, kind, case_id))["status"] == "completed"
    before = await get_case(api, case_id)
    assert before[COLUMNS[kind]] is not None
    fake_llm.script(*(make_reply() for _ in range(3)))
    job = await analyse(api, kind, case_id)
    assert job["status"] == "failed" and job["result"] is None
    assert job["error_code"] == code
    assert job["error"] == MESSAGES[message]
    assert len(fake_llm.requests) == 1 + attempts  # the SDK's retries only; no second retry loop
    assert {r.path for r in fake_llm.requests} == {WIRE_PATHS[VENDORS[kind]]}
    after = await get_case(api, case_id)
    assert {f: after[f] for f in CASE_FIELDS} == {f: before[f] for f in CASE_FIELDS}


@pytest.mark.parametrize("kind", list(AnalysisKind), ids=lambda kind: kind.value)
@pytest.mark.gen_test(timeout=30)
async def test_analysis_error_message_has_no_provider_text(api, fake_llm, kind):
    case_id, _ = await case_with_inputs(api)
    for reply in (Reply.refusal(), Reply.unauthorized(), Reply.server_error(), Reply.server_error(),
                  Reply.server_error()):
        fake_llm.script(reply)
    jobs = [await analyse(api, kind, case_id) for _ in range(3)]
    assert [job["error_code"] for job in jobs] == ["refused", "provider_auth", "provider_unavailable"]
    text = json.dumps(jobs, ensure_ascii=False)
    assert REFUSAL_TEXT not in text and "fake 401" not in text and "fake 500" not in text
    assert "sk-" not in text and "Error" not in text  # no key, no SDK exception name


@pytest.mark.parametrize("kind", list(AnalysisKind), ids=lambda kind: kind.value)
@pytest.mark.gen_test(timeout=30)
async def test_analysis_request_has_case_texts_and_no_personal_ids(api, fake_llm, kind):
    case_id, document_id = await case_with_inputs(api)
    fake_llm.script(Reply.rate_limited(0.01))  # two requests: the retry is checked too
    job = await analyse(api, kind, case_id)
    assert job["status"] == "completed", job["error"]
    requests = fake_llm.requests
    assert len(requests) == 2
    for request in requests:
        body = json.dumps(request.body, ensure_ascii=False)
        everything = body + json.dumps(request.headers, ensure_ascii=False) + request.path
        assert TRANSCRIPT in body
        assert (DOCUMENT_TEXT in body) is (kind is not CALL)  # call analysis reads the transcript only
        for personal in (OWNER, CLERK, case_id, document_id, FILE_NAME, "moshe_cohen", OPENAI_KEY, ANTHROPIC_KEY):
            assert personal not in everything, personal


@pytest.mark.parametrize("kind", list(AnalysisKind), ids=lambda kind: kind.value)
@pytest.mark.gen_test(timeout=30)
async def test_analysis_result_records_provider_and_model(api, fake_llm, settings, kind):
    case_id, _ = await case_with_inputs(api)
    job = await analyse(api, kind, case_id)
    assert job["status"] == "completed", job["error"]
    assert (job["result"]["provider"], job["result"]["model"]) == (VENDORS[kind], default_model(settings, kind))
    ready = await api.get("/readyz", user=None)
    served = ready.json["providers"][kind.value]
    assert (served["provider"], served["model"]) == (job["result"]["provider"], job["result"]["model"])


SWAPPED = {"OPENAI_MODEL": "gpt-e2e-model", "ANTHROPIC_MODEL": "claude-e2e-model",
           "PROVIDER_CALL_ANALYSIS": "anthropic", "PROVIDER_DOCUMENT_ANALYSIS_AGENT": "openai",
           "PROVIDER_DOCUMENT_ANALYSIS_FORM7801": "anthropic"}


@pytest.mark.parametrize("llm_env", [SWAPPED])
@pytest.mark.gen_test(timeout=30)
async def test_analysis_provider_per_job_type_follows_environment(api, fake_llm, llm_env):
    case_id, _ = await case_with_inputs(api)
    seen = {}
    for kind in AnalysisKind:
        job = await analyse(api, kind, case_id)
        assert job["status"] == "completed", job["error"]
        seen[kind] = (job["result"]["provider"], job["result"]["model"], fake_llm.requests[-1].path)
    assert seen == {
        CALL: ("anthropic", "claude-e2e-model", "/v1/messages"),
        AGENT: ("openai", "gpt-e2e-model", "/v1/chat/completions"),
        FORM: ("anthropic", "claude-e2e-model", "/v1/messages"),
    }


@pytest.mark.parametrize("round_", [1, 2])
@pytest.mark.gen_test(timeout=30)
async def test_analysis_succeeds_on_each_fresh_loop_and_app(api, fake_llm, round_):
    case_id, _ = await case_with_inputs(api)
    for kind in AnalysisKind:
        job = await analyse(api, kind, case_id)
        assert job["status"] == "completed", (round_, kind, job["error"])
    assert len(fake_llm.requests) == 3


@pytest.mark.gen_test(timeout=30)
async def test_analysis_logs_have_no_case_text_and_no_token(api, fake_llm, caplog):
    caplog.set_level(logging.DEBUG)
    case_id, _ = await case_with_inputs(api)
    assert (await analyse(api, AGENT, case_id))["status"] == "completed"
    fake_llm.script(Reply.refusal())
    assert (await analyse(api, CALL, case_id))["error_code"] == "refused"
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "call ok kind=document_analysis_agent" in text and "call failed kind=call_analysis" in text
    for secret in (TRANSCRIPT[:20], DOCUMENT_TEXT[:20], "lumbar", REFUSAL_TEXT, OUTPUT_MARKER, OPENAI_KEY,
                   ANTHROPIC_KEY, "eyJ", "Bearer"):  # eyJ: every JWT starts so
        assert secret not in text, secret
