"""Helpers shared by the vendor adapters: their base class, progress while streaming, and the call log.

The log records kind, model, token counts, duration, and on failure the exception class and HTTP
status only: exception messages of SDKs can quote the prompt or the output.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from server.analysis.inputs import AnalysisInput, AnalysisKind
from server.analysis.providers.base import AnalysisOutcome, ProgressCallback, ProviderError, Usage

log = logging.getLogger("server.analysis.providers")

# Loggers of the SDKs; at DEBUG they log every request's options, JSON body (the prompt) included.
_SDK_LOGGERS = ("openai", "anthropic")

# Rough size of a complete answer, in characters; only scales the progress bar while streaming.
_EXPECTED_CHARS = {
    AnalysisKind.CALL_ANALYSIS: 3000,
    AnalysisKind.DOCUMENT_ANALYSIS_AGENT: 2500,
    AnalysisKind.DOCUMENT_ANALYSIS_FORM7801: 5000,
}


class StreamProgress:
    """Turns streamed output size into progress reports, at most one per 5 percent.

    Percent runs 10 (first output) to 95 (never 100 before the answer is validated).
    """

    def __init__(self, kind: AnalysisKind, progress: ProgressCallback):
        self._expected = _EXPECTED_CHARS[kind]
        self._progress = progress
        self._chars = 0
        self._reported = -1

    async def add(self, text: str) -> None:
        """Count ``text`` (a streamed fragment) and report if the percent moved by 5 or more."""
        self._chars += len(text)
        percent = min(95, 10 + self._chars * 85 // self._expected)
        if percent >= self._reported + 5 or self._reported < 0:
            self._reported = percent
            await self._progress(percent, "Model is writing the analysis", "model_writing")


def keep_prompts_out_of_sdk_logs() -> None:
    """Cap the SDK loggers at INFO, so ``LOG_LEVEL=DEBUG`` does not write transcripts to the log.

    A level set on purpose (the SDKs' own ``OPENAI_LOG`` / ``ANTHROPIC_LOG`` switches) is kept.
    """
    for name in _SDK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


def log_success(vendor: str, kind: AnalysisKind, model: str, usage: Usage, seconds: float) -> None:
    """Log one successful call: no prompt, no output."""
    log.info(
        "%s call ok kind=%s model=%s input_tokens=%d output_tokens=%d duration=%.2fs",
        vendor, kind.value, model, usage.input_tokens, usage.output_tokens, seconds,
    )


def log_failure(vendor: str, kind: AnalysisKind, model: str, error: ProviderError, seconds: float) -> None:
    """Log one failed call: our code, the SDK exception class and HTTP status; never exception text."""
    cause = error.__cause__ or error
    log.warning(
        "%s call failed kind=%s model=%s code=%s error=%s status=%s duration=%.2fs",
        vendor, kind.value, model, error.code, type(cause).__name__, getattr(cause, "status_code", None), seconds,
    )


async def timed_call(vendor: str, model: str, kind: AnalysisKind, progress: ProgressCallback,
                     call: Callable[[StreamProgress], Awaitable[tuple[BaseModel, Usage]]]) -> AnalysisOutcome:
    """Run one vendor call with the progress messages and the call log every adapter gives.

    Args:
        call: does the request with a ``StreamProgress`` and returns (validated output, usage);
            raises ``ProviderError``.
    Returns:
        The ``AnalysisOutcome`` (duration in seconds).
    """
    started = time.monotonic()
    await progress(0, "Sending the case to the model", "model_sending")
    try:
        output, usage = await call(StreamProgress(kind, progress))
    except ProviderError as exc:
        log_failure(vendor, kind, model, exc, time.monotonic() - started)
        raise
    seconds = time.monotonic() - started
    log_success(vendor, kind, model, usage, seconds)
    await progress(100, "Analysis received", "model_received")
    return AnalysisOutcome(output, vendor, model, usage, seconds)


class SdkProvider(abc.ABC):
    """Base of the vendor adapters: one shared SDK client, a model and an output budget; ``analyze``
    streams ``_answer`` under ``timed_call`` (progress, the call log, errors as ``ProviderError``).

    Subclasses set ``name`` and ``client_class`` (the SDK's async client) and implement ``_answer``.
    The client is shared and owned by ``ProviderSet``, which closes it.

    Args:
        client: the shared client (``make_client``).
        model: model name, e.g. ``gpt-5.5``.
        max_output_tokens: the output budget of one call, tokens.
    """

    name: str
    client_class: Callable[..., Any]

    def __init__(self, client: Any, model: str, max_output_tokens: int):
        self._client = client
        self.model = model
        self._max_output_tokens = max_output_tokens

    @classmethod
    def make_client(cls, api_key: str, base_url: str | None, timeout: float, max_retries: int) -> Any:
        """Create the one client of a server for this vendor (no event loop is bound until first use).

        Args:
            api_key: the vendor key.
            base_url: e.g. a gateway or the fake server on 127.0.0.1; None for the SDK default.
            timeout: per-request timeout, seconds.
            max_retries: the SDK's retries (honouring ``retry-after``).
        """
        return cls.client_class(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)

    async def analyze(self, kind: AnalysisKind, data: AnalysisInput, progress: ProgressCallback) -> AnalysisOutcome:
        """Run ``kind`` on ``data``; see ``Provider.analyze``.

        Raises:
            ProviderError: on any failure (see ``ProviderError`` for the codes).
        """
        return await timed_call(self.name, self.model, kind, progress, lambda meter: self._answer(kind, data, meter))

    async def aclose(self) -> None:  # noqa: B027  (deliberately empty, not abstract)
        """Nothing to release: the client belongs to ``ProviderSet``."""

    @abc.abstractmethod
    async def _answer(self, kind: AnalysisKind, data: AnalysisInput,
                      meter: StreamProgress) -> tuple[BaseModel, Usage]:
        """The validated answer and its token usage (each SDK's adapter); raises ``ProviderError``."""
