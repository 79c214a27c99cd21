"""The provider interface: structured request in, validated pydantic result and usage out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from server.analysis.inputs import AnalysisInput, AnalysisKind
from server.error_codes import ErrorCode
from server.jobs.errors import JobFailed

ProgressCallback = Callable[..., Awaitable[None]]
"""``await progress(percent, message, code=None, params=None)``: percent 0-100 of the model call,
user-safe English message, and its stable code (``model_sending``, ``model_writing``,
``model_received``, ``offline_analysing``, ``offline_complete``) with its values for translation."""


@dataclass(frozen=True)
class Usage:
    """Token counts of one call (0 when the provider does not report them)."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class AnalysisOutcome:
    """A validated analysis and how it was made.

    Args:
        output: instance of ``kind.schema``.
        provider: ``openai``, ``anthropic`` or ``offline``.
        model: the model name the provider used.
        usage: token counts.
        duration_seconds: wall time of the call, in seconds.
    """

    output: BaseModel
    provider: str
    model: str
    usage: Usage
    duration_seconds: float


class Provider(Protocol):
    """One way of producing an analysis.

    ``analyze`` raises ``ProviderError`` on any failure; it never returns a made-up result.
    """

    name: str
    model: str

    async def analyze(
        self, kind: AnalysisKind, data: AnalysisInput, progress: ProgressCallback
    ) -> AnalysisOutcome:
        """Run ``kind`` on ``data``, reporting progress; raise ``ProviderError`` on failure."""
        ...

    async def aclose(self) -> None:
        """Release what the provider holds (clients are owned by ``ProviderSet``)."""
        ...




class ProviderError(JobFailed):
    """A provider call failed; ends the job ``failed`` with ``code`` and a user-safe message.

    Codes: ``rate_limited`` (429 after the SDK's retries), ``provider_unavailable`` (5xx,
    connection error, timeout), ``invalid_output`` (unparseable, schema-violating or
    token-limit-truncated output), ``refused`` (the model declined), ``provider_auth`` (401/403),
    ``provider_rejected`` (any other 4xx: a request the provider will never accept).

    Args:
        code: one of the codes above.
        truncated: for ``invalid_output``, True when the token limit cut the output (message differs).
    """

    def __init__(self, code: ErrorCode, *, truncated: bool = False):
        super().__init__(code, code.job_error("truncated" if truncated else None))


# What the SDKs raise when a 200 answer is not their format at all (an HTML error page, free text,
# an empty or cut-off event stream): JSON errors from their event-stream decoder (ValueError),
# assertions of their stream accumulators that no event came, and attribute/key/type/index errors
# from events missing their fields. Caught after the SDKs' own error classes, so it never hides one.
UNUSABLE_ANSWER_ERRORS: tuple[type[Exception], ...] = (
    AssertionError, ValueError, TypeError, KeyError, AttributeError, IndexError)


def status_code_error(status: int) -> ProviderError:
    """The ``ProviderError`` for an HTTP error status the SDK gave up on."""
    if status == 429:
        return ProviderError(ErrorCode.RATE_LIMITED)
    if status in (401, 403):
        return ProviderError(ErrorCode.PROVIDER_AUTH)
    if status >= 500 or status in (408, 409):
        return ProviderError(ErrorCode.PROVIDER_UNAVAILABLE)
    return ProviderError(ErrorCode.PROVIDER_REJECTED)
