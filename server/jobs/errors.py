"""Errors of the job engine."""

from __future__ import annotations

from server.error_codes import ErrorCode
from server.errors import Conflict, TooManyRequests


class JobFailed(Exception):
    """Raised by a job function to end its job ``failed`` with a user-safe message.

    Args:
        code: machine code stored as the job's ``error_code`` (e.g. ``rate_limited``); an
            ``ErrorCode`` for the server's own jobs.
        message: short message fit to show an end user, stored as the job's ``error``; by default
            the code's ``job_message`` in ``server.error_codes``. Never raw exception text: it may
            hold secrets or personal data.

    Raises:
        ValueError / KeyError: no ``message`` given and ``code`` has no job message of its own.
    """

    def __init__(self, code: str, message: str | None = None):
        message = message or ErrorCode(code).job_error()
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidTransition(Conflict):
    """A job state change that the state machine does not allow (e.g. finished -> running)."""

    default_code = ErrorCode.INVALID_TRANSITION


class TooManyActiveJobs(TooManyRequests):
    """The owner already has ``MAX_ACTIVE_JOBS_PER_USER`` jobs pending or running (429)."""

    default_code = ErrorCode.TOO_MANY_ACTIVE_JOBS

    def __init__(self, limit: int):
        super().__init__(f"You already have {limit} jobs pending or running; wait for one to finish",
                         code=ErrorCode.TOO_MANY_ACTIVE_JOBS, retry_after=5)
