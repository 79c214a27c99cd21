"""Job endpoints: ``GET /jobs``, ``GET /jobs/{id}``, ``POST /jobs/{id}/cancel``."""

from __future__ import annotations

import base64
import binascii

from server.errors import InvalidInput
from server.jobs.access import visible_job
from server.jobs.models import Job, JobStatus, job_json
from server.jobs.store import JobQuery
from server.web import ApiHandler

POLL_INTERVAL_SECONDS = 2  # the seed's recommended polling interval ("Polling Frequency")
MAX_PAGE = 200


class JobHandlerBase(ApiHandler):
    """Shared helpers of the job handlers."""

    async def load_job(self, raw_id: str) -> Job:
        """The job the caller may see, or the matching 404."""
        return await visible_job(self.services.store, self.principal, raw_id, self.services.started_at)

    def write_job(self, job: Job, status: int = 200) -> None:
        """Send one job with its ETag; non-final jobs carry ``Retry-After`` (seconds)."""
        self.set_header("ETag", job.etag)
        if not job.is_terminal:
            self.set_header("Retry-After", str(POLL_INTERVAL_SECONDS))
        self.write_json(job_json(job), status)


class JobHandler(JobHandlerBase):
    """``GET /jobs/{job_id}``: the job's current state; ``If-None-Match`` with its ETag -> 304."""

    async def get(self, raw_id: str) -> None:
        job = await self.load_job(raw_id)
        if job.etag in _etags(self.request.headers.get("If-None-Match", "")):
            self.set_header("ETag", job.etag)
            self.set_status(304)
            self.finish()
            return
        self.write_job(job)


class JobCancelHandler(JobHandlerBase):
    """``POST /jobs/{job_id}/cancel``: owner or admin; 409 when the job already finished."""

    async def post(self, raw_id: str) -> None:
        job = await self.load_job(raw_id)
        self.write_job(await self.services.runner.cancel(job.job_id))


class JobListHandler(JobHandlerBase):
    """``GET /jobs``: the caller's jobs (admins: all), newest first, ``{jobs, count, next_cursor}``.

    Query: ``status``, ``job_type``, ``case_id`` filters; ``limit`` 1..200 (default 50);
    ``cursor`` from a previous page's ``next_cursor``.
    """

    async def get(self) -> None:
        query = JobQuery(
            owner_id=None if self.principal.is_admin else self.principal.user_id,
            status=self._status_filter(),
            job_type=self._job_type_filter(),
            case_id=self.get_query_argument("case_id", None),
            before=_decode_cursor(self.get_query_argument("cursor", None)),
            limit=self.query_int("limit", 50, minimum=1, maximum=MAX_PAGE),
        )
        page = await self.services.store.list(query)
        next_cursor = _encode_cursor(page.next_before) if page.next_before is not None else None
        jobs = ",".join(job_json(job) for job in page.jobs)
        tail = f'"count":{len(page.jobs)},"next_cursor":{_quote(next_cursor)}'
        self.write_json(f'{{"jobs":[{jobs}],{tail}}}')

    def _status_filter(self) -> JobStatus | None:
        raw = self.get_query_argument("status", None)
        if raw is None:
            return None
        try:
            return JobStatus(raw)
        except ValueError:
            raise InvalidInput("'status' must be one of pending, running, completed, failed",
                               code="invalid_status") from None

    def _job_type_filter(self) -> str | None:
        raw = self.get_query_argument("job_type", None)
        if raw is not None and raw not in self.services.runner.job_types:
            raise InvalidInput(f"'job_type' must be one of {', '.join(self.services.runner.job_types)}",
                               code="invalid_job_type")
        return raw


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _encode_cursor(number: int) -> str:
    return base64.urlsafe_b64encode(f"n{number}".encode()).decode().rstrip("=")


def _decode_cursor(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        if text.startswith("n") and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput("'cursor' is not a cursor this server issued", code="invalid_cursor")


def _quote(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'
