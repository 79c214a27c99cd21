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
from server.analysis.providers._calls import SdkProvider, StreamProgress
from server.analysis.providers.base import (
    UNUSABLE_ANSWER_ERRORS,
    ProviderError,
    Usage,
    status_code_error,
)
from server.error_codes import ErrorCode


class AnthropicProvider(SdkProvider):
    """Runs analyses on Anthropic (``max_output_tokens`` is ``max_tokens`` per call)."""

    name = "anthropic"
    client_class = AsyncAnthropic
    _client: AsyncAnthropic

    async def _answer(self, kind: AnalysisKind, data: AnalysisInput,
                      meter: StreamProgress) -> tuple[pydantic.BaseModel, Usage]:
        message = await self._call(kind, data, meter)
        return _validated(kind, message), Usage(message.usage.input_tokens or 0, message.usage.output_tokens or 0)

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
