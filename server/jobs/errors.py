"""Errors of the job engine."""

from __future__ import annotations

from server.errors import Conflict, TooManyRequests


class JobFailed(Exception):
    """Raised by a job function to end its job ``failed`` with a user-safe message.

    Args:
        code: machine code stored as the job's ``error_code`` (e.g. ``rate_limited``).
        message: short message fit to show an end user, stored as the job's ``error``.
            Never raw exception text: it may hold secrets or personal data.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidTransition(Conflict):
    """A job state change that the state machine does not allow (e.g. finished -> running)."""

    default_code = "invalid_transition"


class TooManyActiveJobs(TooManyRequests):
    """The owner already has ``MAX_ACTIVE_JOBS_PER_USER`` jobs pending or running (429)."""

    default_code = "too_many_active_jobs"

    def __init__(self, limit: int):
        super().__init__(f"You already have {limit} jobs pending or running; wait for one to finish",
                         code="too_many_active_jobs", retry_after=5)
