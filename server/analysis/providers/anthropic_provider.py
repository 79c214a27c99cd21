"""Anthropic adapter: Messages with JSON structured output from the pydantic schema, streamed.

The schema goes in ``output_config.format`` (the installed SDK's ``transform_schema`` makes it
acceptable to the API). The answer is validated here rather than by the SDK's ``output_format``
helper, because the helper validates before the stop reason arrives: a refusal or a cut-off answer
would then look like malformed output.
"""

from __future__ import annotations

import anthropic
import httpx2
import pydantic
from anthropic import AsyncAnthropic

from server.analysis import prompts
from server.analysis.inputs import AnalysisInput, AnalysisKind
from server.analysis.providers._calls import StreamProgress, timed_call
from server.analysis.providers.base import (
    UNUSABLE_ANSWER_ERRORS,
    AnalysisOutcome,
    ProgressCallback,
    ProviderError,
    Usage,
    status_code_error,
)
from server.error_codes import ErrorCode


def make_client(api_key: str, base_url: str | None, timeout: float, max_retries: int) -> AsyncAnthropic:
    """Create the one AsyncAnthropic client of a server (no event loop is bound until first use).

    Args:
        api_key: the Anthropic key.
        base_url: e.g. a gateway or ``http://127.0.0.1:8700``; None for the SDK default.
        timeout: per-request timeout, seconds.
        max_retries: the SDK's retries (honouring ``retry-after``).
    """
    return AsyncAnthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)


class AnthropicProvider:
    """Runs analyses on Anthropic. The client is shared and owned by ``ProviderSet``.

    Args:
        client: the shared AsyncAnthropic client.
        model: model name, e.g. ``claude-sonnet-5-5``.
        max_output_tokens: ``max_tokens`` per call.
    """

    name = "anthropic"

    def __init__(self, client: AsyncAnthropic, model: str, max_output_tokens: int):
        self._client = client
        self.model = model
        self._max_output_tokens = max_output_tokens

    async def analyze(
        self, kind: AnalysisKind, data: AnalysisInput, progress: ProgressCallback
    ) -> AnalysisOutcome:
        """Run ``kind`` on ``data``; see ``Provider.analyze``.

        Raises:
            ProviderError: on any failure (see ``ProviderError`` for the codes).
        """
        async def call(meter: StreamProgress) -> tuple[pydantic.BaseModel, Usage]:
            message = await self._call(kind, data, meter)
            return _validated(kind, message), Usage(message.usage.input_tokens or 0,
                                                    message.usage.output_tokens or 0)

        return await timed_call(self.name, self.model, kind, progress, call)

    async def aclose(self) -> None:
        """Nothing to release: the client belongs to ``ProviderSet``."""

    async def _call(self, kind: AnalysisKind, data: AnalysisInput, meter: StreamProgress) -> anthropic.types.Message:
        schema = anthropic.transform_schema(kind.schema.model_json_schema())
        try:
            async with self._client.messages.stream(
                model=self.model,
                max_tokens=self._max_output_tokens,
                system=prompts.system_prompt(kind),
                messages=[{"role": "user", "content": prompts.user_message(data)}],
                output_config={"format": {"type": "json_schema", "schema": schema}},
            ) as stream:
                async for event in stream:
                    if event.type == "text":
                        await meter.add(event.text)
                message = await stream.get_final_message()
        except anthropic.APIStatusError as exc:
            raise status_code_error(exc.status_code) from exc
        except (anthropic.APIConnectionError, anthropic.APIError, httpx2.TransportError) as exc:
            raise ProviderError(ErrorCode.PROVIDER_UNAVAILABLE) from exc
        except UNUSABLE_ANSWER_ERRORS as exc:  # the SDK could not assemble a message: not an answer
            raise ProviderError(ErrorCode.PROVIDER_UNAVAILABLE) from exc
        if message.stop_reason is None:  # the stream ended before its message_delta: half an answer
            raise ProviderError(ErrorCode.PROVIDER_UNAVAILABLE)
        return message


def _validated(kind: AnalysisKind, message: anthropic.types.Message) -> pydantic.BaseModel:
    if message.stop_reason == "refusal":
        raise ProviderError(ErrorCode.REFUSED)
    if message.stop_reason == "max_tokens":
        raise ProviderError(ErrorCode.INVALID_OUTPUT, truncated=True)
    text = "".join(block.text for block in message.content if block.type == "text")
    try:
        return kind.schema.model_validate_json(text)
    except pydantic.ValidationError as exc:
        raise ProviderError(ErrorCode.INVALID_OUTPUT) from exc
