"""Who may see which job, and the 404 answers that do not let ids be probed."""

from __future__ import annotations

from server.error_codes import ErrorCode
from server.errors import NotFound
from server.jobs.ids import minted_at_ms, parse_job_id
from server.jobs.models import Job
from server.jobs.store import JobStore
from server.principal import Principal

_NOT_FOUND = "Job not found"


def can_see(principal: Principal, job: Job) -> bool:
    """Owners see their jobs; admins see all."""
    return principal.is_admin or job.owner_id == principal.user_id


async def visible_job(store: JobStore, principal: Principal, raw_id: str, server_started_at: float) -> Job:
    """Return the job ``raw_id`` if ``principal`` may see it.

    Args:
        server_started_at: Unix time (seconds) this server started; an id minted before it
            belongs to a job lost in a restart.
    Raises:
        InvalidInput: ``raw_id`` is not a UUID.
        NotFound: ``code`` is ``expired`` (removed by retention, told to its owner only),
            ``server_restarted`` (minted before this server started), else ``not_found``.
            Another user's job answers exactly like an unknown id.
    """
    job_id = parse_job_id(raw_id)
    job = await store.get(job_id)
    if job is not None and can_see(principal, job):
        return job
    if job is None:
        owner = await store.removed_owner(job_id)
        if owner is not None and (principal.is_admin or owner == principal.user_id):
            raise NotFound("Job has expired and its result was removed", code=ErrorCode.EXPIRED)
        minted = minted_at_ms(job_id)
        if owner is None and minted is not None and minted < server_started_at * 1000:
            raise NotFound("Job was lost when the server restarted; submit it again", code=ErrorCode.SERVER_RESTARTED)
    raise NotFound(_NOT_FOUND, code=ErrorCode.NOT_FOUND)
