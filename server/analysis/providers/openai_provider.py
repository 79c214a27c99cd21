"""OpenAI adapter: Chat Completions with structured outputs from the pydantic schema, streamed.

Uses the SDK's ``chat.completions.stream(response_format=Model)`` helper, which sends the strict
JSON schema and validates the answer into the model; progress is reported as output arrives.
"""

from __future__ import annotations

import json

import httpx2
import openai
import pydantic
from openai import AsyncOpenAI

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


class OpenAIProvider(SdkProvider):
    """Runs analyses on OpenAI (``max_output_tokens`` is ``max_completion_tokens`` per call)."""

    name = "openai"
    client_class = AsyncOpenAI
    _client: AsyncOpenAI

    async def _answer(self, kind: AnalysisKind, data: AnalysisInput,
                      meter: StreamProgress) -> tuple[pydantic.BaseModel, Usage]:
        stream = None
        try:
            async with self._client.chat.completions.stream(
                model=self.model,
                messages=[
                    {"role": "system", "content": prompts.system_prompt(kind)},
                    {"role": "user", "content": prompts.user_message(data)},
                ],
                response_format=kind.schema,
                max_completion_tokens=self._max_output_tokens,
                stream_options={"include_usage": True},
            ) as stream:
                async for event in stream:
                    if event.type == "content.delta":
                        await meter.add(event.delta)
                if not _finished(stream):  # no chunk, or none with a finish reason: not a whole answer
                    raise ProviderError(ErrorCode.PROVIDER_UNAVAILABLE)
                completion = await stream.get_final_completion()
        except ProviderError:
            raise
        except openai.LengthFinishReasonError as exc:
            raise ProviderError(ErrorCode.INVALID_OUTPUT, truncated=True) from exc
        except openai.ContentFilterFinishReasonError as exc:
            raise ProviderError(ErrorCode.REFUSED) from exc
        except (pydantic.ValidationError, json.JSONDecodeError) as exc:
            # The SDK validates the content as soon as the stream ends: a cut-off answer fails
            # validation before LengthFinishReasonError is raised, so look at the finish reason.
            # Before the end, a JSON error is the event stream itself (an HTML page, text): no answer.
            if not _finished(stream):
                raise ProviderError(ErrorCode.PROVIDER_UNAVAILABLE) from exc
            raise ProviderError(ErrorCode.INVALID_OUTPUT, truncated=_was_cut(stream)) from exc
        except openai.APIStatusError as exc:
            raise status_code_error(exc.status_code) from exc
        except (openai.APIConnectionError, openai.APIError, httpx2.TransportError) as exc:
            raise ProviderError(ErrorCode.PROVIDER_UNAVAILABLE) from exc
        except UNUSABLE_ANSWER_ERRORS as exc:  # the SDK choked on something that was not an answer
            raise ProviderError(ErrorCode.PROVIDER_UNAVAILABLE) from exc
        return _parsed(completion), _usage(completion)


def _finished(stream: object) -> bool:
    """True when the stream delivered a chunk with a finish reason (the vendor's end of an answer)."""
    try:
        snapshot = stream.current_completion_snapshot  # type: ignore[attr-defined]
        return any(choice.finish_reason for choice in snapshot.choices)
    except (AttributeError, AssertionError):  # no stream, or no chunk at all
        return False


def _was_cut(stream: object) -> bool:
    try:
        snapshot = stream.current_completion_snapshot  # type: ignore[attr-defined]
        return any(choice.finish_reason == "length" for choice in snapshot.choices)
    except (AttributeError, AssertionError):
        return False


def _parsed(completion: object) -> pydantic.BaseModel:
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise ProviderError(ErrorCode.INVALID_OUTPUT)
    message = choices[0].message
    if message.refusal:
        raise ProviderError(ErrorCode.REFUSED)
    if message.parsed is None:
        raise ProviderError(ErrorCode.INVALID_OUTPUT)
    return message.parsed


def _usage(completion: object) -> Usage:
    usage = getattr(completion, "usage", None)
    if usage is None:
        return Usage(0, 0)
    return Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0)
