"""The test of docs/architecture.md: a fourth job type added with only what "Where to add things"
says (job function, register, endpoint, route), run through the real HTTP server end to end."""

from __future__ import annotations

from typing import Any

import pytest

from server.app import UUID_PATTERN, AppServices, make_app
from server.cases.handlers import CaseHandlerBase
from server.cases.repository import CaseRepository
from server.cases.service import CaseServices
from server.jobs.errors import JobFailed
from server.jobs.models import POLL_INTERVAL_SECONDS
from server.jobs.runner import JobContext, JobRunner
from server.web import WebServices

JOB_TYPE = "transcript_words"


def word_count_job(repository: CaseRepository):
    """Step 1: the job function (reads the case named in its params, reports progress, returns JSON)."""

    async def run(ctx: JobContext) -> dict[str, Any]:
        await ctx.progress(20, "Reading the transcript", code="reading_transcript")
        case = await repository.get_case(ctx.params["case_id"])
        if case is None:
            raise JobFailed("case_deleted", "The case was deleted while it was being counted.")
        return {"case_id": case.case_id, "words": len(case.transcript.split())}

    return run


class WordCountHandler(CaseHandlerBase):
    """Step 3: ``POST /cases/{id}/transcript-words`` -> 202 and the job to poll."""

    def initialize(self, services: WebServices, cases: CaseServices, runner: JobRunner) -> None:  # type: ignore[override]
        super().initialize(services, cases)
        self.runner = runner

    async def post(self, raw_case_id: str) -> None:
        case = await self.load_case(raw_case_id)
        job, _ = await self.runner.submit_unique(
            JOB_TYPE, case.owner_id, {"case_id": case.case_id, "requested_by": self.principal.user_id},
            {"case_id": case.case_id}, dedupe_key=f"{JOB_TYPE}:{case.case_id}")
        self.set_header("Location", f"/jobs/{job.job_id}")
        self.set_header("Retry-After", str(POLL_INTERVAL_SECONDS))
        self.write_json({"status": "accepted", "job_id": job.job_id, "poll_url": f"/jobs/{job.job_id}"}, 202)


@pytest.fixture
def app(services: AppServices):
    assert services.cases is not None
    services.runner.register(JOB_TYPE, word_count_job(services.cases.repository))  # step 2
    app = make_app(services)
    kwargs = {"services": services, "cases": services.cases, "runner": services.runner}
    app.add_handlers(r".*", [(rf"/cases/{UUID_PATTERN}/transcript-words", WordCountHandler, kwargs)])  # step 4
    return app


@pytest.mark.gen_test(timeout=20)
async def test_a_job_type_added_as_the_architecture_doc_says_runs_end_to_end(api):
    created = await api.post("/cases", body={"title": "Count", "call_details": {"transcript": "one two three four"}})
    case_id = created.json["case_id"]

    accepted = await api.post(f"/cases/{case_id}/transcript-words")
    assert accepted.status == 202, accepted.json
    job_id = accepted.json["job_id"]
    assert accepted.headers["Location"] == f"/jobs/{job_id}" and accepted.headers["Retry-After"] == "2"

    polled = await api.get(f"/jobs/{job_id}?wait=10&until=finished")
    assert polled.status == 200
    job = polled.json
    assert (job["job_type"], job["status"], job["progress"]) == (JOB_TYPE, "completed", 100)
    assert job["result"] == {"case_id": case_id, "words": 4}
    assert job["metadata"] == {"case_id": case_id, "requested_by": "alice"}

    listed = await api.get(f"/jobs?case_id={case_id}&job_type={JOB_TYPE}")
    assert [item["job_id"] for item in listed.json["jobs"]] == [job_id]
    assert (await api.get(f"/jobs/{job_id}", user="mallory")).status == 404  # owner checks come free
    assert (await api.post(f"/cases/{case_id}/transcript-words", user="mallory")).status == 404
