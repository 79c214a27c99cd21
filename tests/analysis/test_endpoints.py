"""The three analysis endpoints and their job functions, through real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from server.analysis.inputs import AnalysisKind
from server.analysis.providers.config import LLMSettings
from server.analysis.providers.registry import ProviderSet
from server.analysis.readiness import REQUIRED_FIELDS
from server.cases.models import AnalysisField
from server.config import Settings
from server.jobs.errors import JobFailed
from tests.analysis.doubles import CALL_OUTPUT, Reply, complete_form
from tests.cases import files
from tests.cases.files import new_case, upload
from tests.waiting import settle

CALL = "/vapi/re-analyze-call/{}"
AGENT = "/cases/{}/analyze-with-agent"
FORM = "/cases/{}/analyze-documents-form7801"
TRANSCRIPT = "נציג: שלום, במה אוכל לעזור?\nלקוח: נפגעתי בגב בתאונת עבודה ואני לא מסוגל לעבוד."


async def finished(api, job_id: str, user: str = "alice") -> dict:
    reply = None

    async def poll() -> bool:
        nonlocal reply
        reply = await api.get(f"/jobs/{job_id}", user=user)
        return reply.json["status"] in ("completed", "failed")

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not await poll():
        assert loop.time() < deadline, "job did not finish"
        await asyncio.sleep(0.01)
    return reply.json


async def case_json(api, case_id: str) -> dict:
    return (await api.get(f"/cases/{case_id}")).json


@pytest.mark.gen_test(timeout=20)
async def test_call_analysis_answers_seed_shape_and_saves_summary(api, providers):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    reply = await api.post(CALL.format(case_id))
    assert reply.status == 202
    body = reply.json
    job_id = body["job_id"]
    assert set(body) == {"status", "job_id", "message", "poll_url"}
    assert body["status"] == "accepted" and body["poll_url"] == f"/jobs/{job_id}"
    assert body["message"] == f"Call analysis job created. Poll /jobs/{job_id} for status."
    assert reply.headers["Location"] == f"/jobs/{job_id}" and reply.headers["Retry-After"] == "2"
    job = await finished(api, job_id)
    assert job["status"] == "completed" and job["job_type"] == "call_analysis"
    assert job["metadata"] == {"case_id": case_id, "user_id": "alice", "endpoint": "re-analyze-call",
                               "requested_by": "alice"}
    result = job["result"]
    assert set(result) == {"case_id", "analysis", "message", "provider", "model", "truncated", "demo"}
    assert result["demo"] is False
    assert result["analysis"]["provenance"] == {"provider": "scripted", "model": "scripted-1", "demo": False}
    assert result["case_id"] == case_id and result["message"] == "Call re-analyzed successfully"
    assert result["provider"] == "scripted" and result["model"] == "scripted-1" and result["truncated"] is False
    assert result["analysis"]["risk_assessment"] == "Needs More Info"
    assert result["analysis"]["documents_requested_list"][0]["document_id"] is None
    assert (await case_json(api, case_id))["call_summary"] == result["analysis"]
    kind, data = providers.calls[0]
    assert kind is AnalysisKind.CALL_ANALYSIS and data.transcript == TRANSCRIPT and data.documents == ()


@pytest.mark.gen_test(timeout=20)
async def test_call_analysis_without_transcript_is_400(api):
    case_id = await new_case(api)
    reply = await api.post(CALL.format(case_id))
    assert reply.status == 400 and reply.json["code"] == "no_transcript"


@pytest.mark.gen_test(timeout=20)
async def test_agent_analysis_needs_a_document_with_text(api, services):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    await upload(api, case_id, "scan.pdf", files.scanned_pdf())
    refused = await api.post(AGENT.format(case_id))
    assert refused.status == 400 and refused.json["code"] == "no_documents"


@pytest.mark.gen_test(timeout=30)
async def test_agent_analysis_reads_each_document_and_saves(api, services, providers):
    case_id = await new_case(api)
    await upload(api, case_id, "summary.pdf", files.pdf(), document_type="medical_report")
    await upload(api, case_id, "payslip.docx", files.docx(["תלוש שכר ינואר"]), document_type="pay_slip")
    await upload(api, case_id, "scan.pdf", files.scanned_pdf())
    messages: list[str] = []
    codes: list[tuple] = []
    services.store.subscribe_owner("alice", lambda job: (messages.append(job.progress_message),
                                                         codes.append((job.progress_code, job.progress_params))))
    reply = await api.post(AGENT.format(case_id))
    assert reply.status == 202 and reply.json["documents_count"] == 2
    assert reply.json["message"].startswith("Document analysis job created. Poll /jobs/")
    job = await finished(api, reply.json["job_id"])
    assert job["status"] == "completed", job["error"]
    assert job["metadata"]["document_count"] == 2 and job["metadata"]["endpoint"] == "analyze-with-agent"
    result = job["result"]
    assert set(result) == {"case_id", "analysis", "documents_analyzed", "timestamp", "provider", "model", "truncated",
                           "demo"}
    assert result["documents_analyzed"] == 2 and result["analysis"]["recommended_claim_rate"] == "66.7%"
    assert (await case_json(api, case_id))["agent_analysis"] == result["analysis"]
    progress = [m for m in dict.fromkeys(messages) if m]
    assert progress.index("Loading case") < progress.index("Reading document 1 of 2") \
        < progress.index("Reading document 2 of 2") < progress.index("Analyzing documents") \
        < progress.index("Model is thinking") < progress.index("Saving analysis")
    steps = [step for step in dict.fromkeys((code, repr(params)) for code, params in codes) if step[0]]
    assert steps == [("loading_case", "None"), ("reading_document", "{'number': 1, 'total': 2}"),
                     ("reading_document", "{'number': 2, 'total': 2}"), ("analyzing_documents", "None"),
                     ("saving", "None")]
    data = providers.calls[0][1]
    assert [d.document_type for d in data.documents] == ["medical_report", "pay_slip"]
    assert files.HEBREW_MEDICAL in data.documents[0].text and data.documents[1].text == "תלוש שכר ינואר"


@pytest.mark.gen_test(timeout=20)
async def test_form7801_needs_transcript_or_document(api):
    case_id = await new_case(api)
    reply = await api.post(FORM.format(case_id))
    assert reply.status == 400 and reply.json["code"] == "no_input"


@pytest.mark.gen_test(timeout=20)
async def test_form7801_incomplete_form_saves_analysis_but_case_stays_new(api):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    reply = await api.post(FORM.format(case_id))
    assert reply.status == 202 and reply.json["documents_count"] == 0
    assert reply.json["message"].startswith("Form 7801 analysis job created.")
    job = await finished(api, reply.json["job_id"])
    assert job["status"] == "completed"
    analysis = job["result"]["analysis"]
    assert analysis["form_7801"]["personal_info"]["full_name"] == ""
    readiness = analysis["filing_readiness"]
    assert readiness["ready"] is False and readiness["completion_percentage"] == 20
    assert readiness["min_completion_percent"] == 60
    assert "personal_info.full_name" in readiness["missing_required_fields"]
    case = await case_json(api, case_id)
    assert case["status"] == "New" and case["final_document_analysis"] == analysis


@pytest.mark.gen_test(timeout=20)
async def test_form7801_complete_form_sets_submission_pending_and_a_later_incomplete_one_undoes_it(api, providers):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    providers.queue(Reply(output=complete_form(59)))
    job = await finished(api, (await api.post(FORM.format(case_id))).json["job_id"])
    assert job["result"]["analysis"]["filing_readiness"]["ready"] is False  # every field, but below 60%
    assert (await case_json(api, case_id))["status"] == "New"
    providers.queue(Reply(output=complete_form(60)))
    job = await finished(api, (await api.post(FORM.format(case_id))).json["job_id"])
    assert job["result"]["analysis"]["filing_readiness"] == {
        "ready": True, "completion_percentage": 60, "min_completion_percent": 60,
        "required_fields": list(REQUIRED_FIELDS), "missing_required_fields": []}
    assert (await case_json(api, case_id))["status"] == "Submission pending"
    providers.queue(Reply(output=complete_form(90) | {"form_7801": {
        **complete_form(90)["form_7801"], "medical_waiver": {"signed": None, "signature_date": "", "notes": ""}}}))
    job = await finished(api, (await api.post(FORM.format(case_id))).json["job_id"])
    assert job["result"]["analysis"]["filing_readiness"]["missing_required_fields"] == ["medical_waiver.signed"]
    assert (await case_json(api, case_id))["status"] == "New"


@pytest.mark.gen_test(timeout=30)
async def test_call_analysis_gets_held_document_types_and_never_lists_them_missing(api, providers):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    await upload(api, case_id, "scan.pdf", files.scanned_pdf(), document_type="medical_report")  # no text
    await upload(api, case_id, "payslip.docx", files.docx(["תלוש שכר ינואר"]), document_type="pay_slip")
    providers.queue(Reply(output={**CALL_OUTPUT, "documents_requested_list": [
        {**CALL_OUTPUT["documents_requested_list"][0], "uploaded": False},
        {"name": "Identity card", "reason": "id", "source": "Population Authority", "required": True,
         "uploaded": False, "document_type": "identity"}]}))
    job = await finished(api, (await api.post(CALL.format(case_id))).json["job_id"])
    items = job["result"]["analysis"]["documents_requested_list"]
    assert [(item["document_type"], item["uploaded"]) for item in items] == [("medical_report", True),
                                                                            ("identity", False)]
    data = providers.calls[0][1]
    assert data.documents == () and sorted(data.document_types) == ["medical_report", "pay_slip"]


@pytest.mark.gen_test(timeout=30)
async def test_offline_analyzer_results_are_flagged_demo_and_leave_scores_unassessed(api, services):
    services.analysis.providers = ProviderSet.build(LLMSettings.from_env({}))
    case_id = await new_case(api, transcript=TRANSCRIPT)
    job = await finished(api, (await api.post(CALL.format(case_id))).json["job_id"])
    result = job["result"]
    assert result["provider"] == "offline" and result["demo"] is True
    assert result["analysis"]["provenance"] == {"provider": "offline", "model": "offline-extractive-1", "demo": True}
    assert (await case_json(api, case_id))["call_summary"]["provenance"]["demo"] is True
    analysis = result["analysis"]
    assert [analysis[name] for name in ("risk_assessment", "estimated_claim_amount", "chance_of_approval",
                                        "strength_score")] == [None] * 4
    assert job["progress_code"] == "completed" and job["progress_params"] is None
    await services.analysis.providers.aclose()


@pytest.mark.gen_test(timeout=20)
@pytest.mark.parametrize("path", [CALL, AGENT, FORM])
async def test_analysis_of_another_users_case_is_404_like_unknown(api, path):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    theirs = await api.post(path.format(case_id), user="mallory")
    unknown = await api.post(path.format(uuid.uuid4()), user="mallory")
    assert theirs.status == unknown.status == 404 and theirs.body == unknown.body
    assert (await api.post(path.format("nope"))).status == 400


@pytest.mark.gen_test(timeout=20)
async def test_admin_started_job_belongs_to_case_owner(api):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    reply = await api.post(CALL.format(case_id), user="root", admin=True)
    job = await finished(api, reply.json["job_id"], user="alice")
    assert job["metadata"]["user_id"] == "alice" and job["metadata"]["requested_by"] == "root"


@pytest.mark.gen_test(timeout=20)
async def test_provider_failure_fails_job_and_leaves_case_unchanged(api, providers):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    first = await finished(api, (await api.post(CALL.format(case_id))).json["job_id"])
    before = await case_json(api, case_id)
    providers.queue(Reply(error=JobFailed("rate_limited", "The analysis service is busy. Please try again later.")))
    job = await finished(api, (await api.post(CALL.format(case_id))).json["job_id"])
    assert job["status"] == "failed" and job["error_code"] == "rate_limited"
    assert job["error"] == "The analysis service is busy. Please try again later."
    after = await case_json(api, case_id)
    assert after == before and after["call_summary"] == first["result"]["analysis"]


@pytest.mark.gen_test(timeout=20)
async def test_invalid_provider_output_fails_job_and_saves_nothing(api, providers):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    providers.queue(Reply(output={**CALL_OUTPUT, "risk_assessment": "Pretty good", "strength_score": 140}))
    job = await finished(api, (await api.post(CALL.format(case_id))).json["job_id"])
    assert job["status"] == "failed" and job["error_code"] == "invalid_output"
    assert (await case_json(api, case_id))["call_summary"] is None


@pytest.mark.gen_test(timeout=20)
async def test_cancelled_job_changes_nothing(api, providers):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    gate = asyncio.Event()
    providers.queue(Reply(gate=gate))
    job_id = (await api.post(CALL.format(case_id))).json["job_id"]
    await providers.started.wait()
    cancelled = await api.post(f"/jobs/{job_id}/cancel")
    assert cancelled.status == 200 and cancelled.json["error_code"] == "cancelled"
    gate.set()
    case = await case_json(api, case_id)
    assert case["call_summary"] is None and case["status"] == "New"


@pytest.mark.gen_test(timeout=20)
async def test_second_post_while_running_is_deduplicated(api, providers):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    gate = asyncio.Event()
    providers.queue(Reply(gate=gate))
    first = await api.post(CALL.format(case_id))
    second = await api.post(CALL.format(case_id), user="root", admin=True)
    assert second.status == 202 and second.json["job_id"] == first.json["job_id"]
    assert second.json["deduplicated"] is True and "deduplicated" not in first.json
    assert second.headers["Location"] == f"/jobs/{first.json['job_id']}"
    other_kind = await api.post(FORM.format(case_id))
    assert other_kind.json["job_id"] != first.json["job_id"] and "deduplicated" not in other_kind.json
    gate.set()
    await finished(api, first.json["job_id"])
    again = await api.post(CALL.format(case_id))
    assert again.json["job_id"] != first.json["job_id"] and "deduplicated" not in again.json
    await finished(api, again.json["job_id"])
    await finished(api, other_kind.json["job_id"])


@pytest.mark.gen_test(timeout=20)
async def test_concurrent_posts_for_one_case_start_one_job(api, providers):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    gate = asyncio.Event()
    providers.queue(Reply(gate=gate))
    answers = await asyncio.gather(*(api.post(CALL.format(case_id)) for _ in range(6)))
    assert {reply.status for reply in answers} == {202}
    assert len({reply.json["job_id"] for reply in answers}) == 1
    assert sum("deduplicated" not in reply.json for reply in answers) == 1  # the one that started it
    keyed = await asyncio.gather(*(api.post(FORM.format(case_id), headers={"Idempotency-Key": "k-1"})
                                   for _ in range(6)))
    assert len({reply.json["job_id"] for reply in keyed}) == 1
    assert all(reply.json == keyed[0].json for reply in keyed)  # one answer, replayed to the others
    assert sum(reply.headers.get("Idempotent-Replayed") == "true" for reply in keyed) == 5
    gate.set()
    await finished(api, answers[0].json["job_id"])
    await finished(api, keyed[0].json["job_id"])


@pytest.mark.gen_test(timeout=20)
async def test_idempotency_key_of_a_refused_request_is_evaluated_again(api):
    case_id = await new_case(api)  # no transcript: the call analysis is refused
    key = {"Idempotency-Key": "retry-refused"}
    refused = await api.post(CALL.format(case_id), headers=key)
    assert refused.status == 400 and refused.json["code"] == "no_transcript"
    updated = await api.request("PUT", f"/cases/{case_id}/call-details", body={"transcript": TRANSCRIPT})
    assert updated.status == 200
    accepted = await api.post(CALL.format(case_id), headers=key)
    assert accepted.status == 202 and "Idempotent-Replayed" not in accepted.headers
    await finished(api, accepted.json["job_id"])


@pytest.mark.gen_test(timeout=20)
async def test_idempotency_key_replays_first_answer(api):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    key = {"Idempotency-Key": "retry-1"}
    first = await api.post(CALL.format(case_id), headers=key)
    await finished(api, first.json["job_id"])
    replay = await api.post(CALL.format(case_id), headers=key)
    assert replay.status == 202 and replay.json == first.json
    assert replay.headers["Location"] == first.headers["Location"] and replay.headers["Idempotent-Replayed"] == "true"
    fresh = await api.post(CALL.format(case_id), headers={"Idempotency-Key": "retry-2"})
    assert fresh.json["job_id"] != first.json["job_id"]
    other_case = await new_case(api, transcript=TRANSCRIPT)
    reused = await api.post(CALL.format(other_case), headers=key)
    assert reused.status == 422 and reused.json["code"] == "idempotency_key_reused"
    bob_case = await new_case(api, user="bob", transcript=TRANSCRIPT)
    bob = await api.post(CALL.format(bob_case), user="bob", headers=key)  # keys are scoped per user
    assert bob.status == 202 and bob.json["job_id"] != first.json["job_id"]
    bad = await api.post(CALL.format(case_id), headers={"Idempotency-Key": "x" * 300})
    assert bad.status == 400 and bad.json["code"] == "invalid_idempotency_key"
    await finished(api, fresh.json["job_id"])
    await finished(api, bob.json["job_id"], user="bob")


@pytest.mark.gen_test(timeout=20)
async def test_refused_request_is_not_replayed(api):
    case_id = await new_case(api)
    key = {"Idempotency-Key": "k"}
    assert (await api.post(CALL.format(case_id), headers=key)).status == 400
    await api.request("PUT", f"/cases/{case_id}/call-details", body={"transcript": TRANSCRIPT})
    reply = await api.post(CALL.format(case_id), headers=key)
    assert reply.status == 202
    await finished(api, reply.json["job_id"])


@pytest.mark.gen_test(timeout=20)
async def test_case_deleted_during_analysis_fails_and_saves_nothing(api, providers, services):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    gate = asyncio.Event()
    providers.queue(Reply(gate=gate))
    job_id = (await api.post(CALL.format(case_id))).json["job_id"]
    await providers.started.wait()
    assert (await api.request("DELETE", f"/cases/{case_id}")).status == 204
    gate.set()
    job = await finished(api, job_id)
    assert job["status"] == "failed" and job["error_code"] == "case_deleted"
    assert "deleted while it was being analysed" in job["error"]


@pytest.mark.gen_test(timeout=20)
async def test_job_without_provider_fails_clearly(api, services):
    services.analysis.providers = None
    case_id = await new_case(api, transcript=TRANSCRIPT)
    job = await finished(api, (await api.post(CALL.format(case_id))).json["job_id"])
    assert job["status"] == "failed" and job["error_code"] == "provider_unavailable"


@pytest.mark.gen_test(timeout=20)
async def test_reanalysis_keeps_uploaded_flags_and_document_links(api, services, providers):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    await finished(api, (await api.post(CALL.format(case_id))).json["job_id"])

    def mark_uploaded(summary):
        summary["documents_requested_list"][0].update(uploaded=True, document_id="doc-1")
        return summary

    await services.cases.repository.save_analysis(case_id, AnalysisField.CALL_SUMMARY, mark_uploaded)
    providers.queue(Reply(output={**CALL_OUTPUT, "documents_requested_list": [
        {"name": "  medical   REPORT ", "reason": "again", "source": "Hospital", "required": True, "uploaded": False,
         "document_type": "medical_report"},
        {"name": "Pay slips", "reason": "income", "source": "Employer", "required": True, "uploaded": False,
         "document_type": "pay_slip"}]}))
    job = await finished(api, (await api.post(CALL.format(case_id))).json["job_id"])
    items = job["result"]["analysis"]["documents_requested_list"]
    assert items[0]["uploaded"] is True and items[0]["document_id"] == "doc-1" and items[0]["reason"] == "again"
    assert items[1]["uploaded"] is False and items[1]["document_id"] is None
    assert (await case_json(api, case_id))["call_summary"]["documents_requested_list"] == items


class TestPendingJobOfDeletedCase:
    """With one slot per job type, a second job waits; its case is deleted before it starts."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, jobs=dataclasses.replace(settings.jobs, concurrency=1))

    @pytest.mark.gen_test(timeout=20)
    async def test_job_fails_with_clear_message(self, api, providers, services):
        busy = await new_case(api, transcript=TRANSCRIPT)
        doomed = await new_case(api, transcript=TRANSCRIPT)
        gate = asyncio.Event()
        providers.queue(Reply(gate=gate))
        first = (await api.post(CALL.format(busy))).json["job_id"]
        second = (await api.post(CALL.format(doomed))).json["job_id"]
        assert (await api.get(f"/jobs/{second}")).json["status"] == "pending"
        assert (await api.request("DELETE", f"/cases/{doomed}")).status == 204
        gate.set()
        job = await finished(api, second)
        assert job["status"] == "failed" and job["error_code"] == "case_deleted"
        assert job["error"] == "The case was deleted before the analysis could run; nothing was analysed."
        await finished(api, first)
        await settle(lambda: len(providers.calls) == 1)


class TestTruncation:
    """A small ANALYSIS_MAX_INPUT_CHARS budget."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, cases=dataclasses.replace(settings.cases, analysis_max_input_chars=3000))

    @pytest.mark.gen_test(timeout=20)
    async def test_long_inputs_are_cut_by_the_rule_and_marked(self, api, providers):
        case_id = await new_case(api, transcript="ת" * 5000)
        await upload(api, case_id, "short.txt", b"short document")
        await upload(api, case_id, "long.txt", ("x" * 9000).encode())
        job = await finished(api, (await api.post(FORM.format(case_id))).json["job_id"])
        assert job["status"] == "completed" and job["result"]["truncated"] is True
        data = providers.calls[0][1]
        assert data.truncated is True
        assert data.documents[0].text == "short document"  # fits its share: untouched
        total = len(data.transcript) + sum(len(d.text) for d in data.documents)
        assert total <= 3000
        assert data.transcript.endswith("characters omitted]") and data.documents[1].text.endswith("omitted]")
        assert abs(len(data.transcript) - len(data.documents[1].text)) <= 2  # fair split of what is left


@pytest.mark.gen_test(timeout=30)
async def test_call_reanalysis_after_an_upload_marks_the_document_uploaded(api, providers):
    case_id = await new_case(api, transcript=TRANSCRIPT)
    first = await finished(api, (await api.post(CALL.format(case_id))).json["job_id"])
    assert first["result"]["analysis"]["documents_requested_list"][0]["uploaded"] is False
    await upload(api, case_id, "summary.pdf", files.pdf(), document_type="medical_report")
    again = await finished(api, (await api.post(CALL.format(case_id))).json["job_id"])
    assert again["result"]["analysis"]["documents_requested_list"][0]["uploaded"] is True
    assert (await case_json(api, case_id))["call_summary"]["documents_requested_list"][0]["uploaded"] is True
