"""Wire formats of the fake provider: OpenAI Chat Completions and Anthropic Messages (JSON and SSE)."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.fakes.fake_provider import FakeHandlerBase, Reply

_ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
REFUSAL_TEXT = "I can't help with that request."


def _pieces(text: str, count: int = 12) -> list[str]:
    size = max(1, -(-len(text) // count))
    return [text[i:i + size] for i in range(0, len(text), size)]


def _sse(data: dict[str, Any], event: str | None = None) -> str:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data, ensure_ascii=False)}\n\n"


class OpenAIChatHandler(FakeHandlerBase):
    """``POST /v1/chat/completions``."""

    def error_body(self, status: int) -> dict[str, Any]:
        """OpenAI error JSON."""
        kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        return {"error": {"message": f"fake {status}", "type": kind, "param": None, "code": kind}}

    async def answer(self, reply: Reply, body: dict[str, Any]) -> None:
        """A completion, streamed if the request asked for it."""
        schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {})
        refusal = reply.kind == "refusal"
        text = "" if refusal else self.output_text(reply, schema)
        finish = "length" if reply.kind == "length" else "stop"
        model = body.get("model", "fake")
        usage = {"prompt_tokens": len(self.request.body) // 4, "completion_tokens": len(text) // 4 + 1}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            message = {"role": "assistant", "content": None if refusal else text,
                       "refusal": REFUSAL_TEXT if refusal else None}
            self.finish(self._envelope("chat.completion", model, [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}], usage))
            return
        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"refusal": p} for p in _pieces(REFUSAL_TEXT)] if refusal else [
            {"content": p} for p in _pieces(text)]
        events = [self._chunk(model, delta, None) for delta in deltas]
        events.append(self._chunk(model, {}, finish))
        events.append(_sse(self._envelope("chat.completion.chunk", model, [], usage)))
        events.append("data: [DONE]\n\n")
        await self.send_events(events, reply)

    def _chunk(self, model: str, delta: dict[str, Any], finish: str | None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _sse(self._envelope("chat.completion.chunk", model, [choice], None))

    @staticmethod
    def _envelope(kind: str, model: str, choices: list, usage: dict | None) -> dict[str, Any]:
        return {"id": "chatcmpl-fake", "object": kind, "created": int(time.time()), "model": model,
                "choices": choices, "usage": usage}


class AnthropicHandler(FakeHandlerBase):
    """``POST /v1/messages``."""

    def error_body(self, status: int) -> dict[str, Any]:
        """Anthropic error JSON."""
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": f"fake {status}"}}

    async def answer(self, reply: Reply, body: dict[str, Any]) -> None:
        """A message, streamed if the request asked for it."""
        schema = (body.get("output_config") or {}).get("format", {}).get("schema", {})
        refusal = reply.kind == "refusal"
        text = REFUSAL_TEXT if refusal else self.output_text(reply, schema)
        stop = {"refusal": "refusal", "length": "max_tokens"}.get(reply.kind, "end_turn")
        usage = {"input_tokens": len(self.request.body) // 4, "output_tokens": len(text) // 4 + 1}
        message = {"id": "msg_fake", "type": "message", "role": "assistant", "model": body.get("model", "fake"),
                   "content": [{"type": "text", "text": text}], "stop_reason": stop,
                   "stop_sequence": None, "usage": usage}
        if not body.get("stream"):
            self.finish(message)
            return
        start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
        events = [_sse({"type": "message_start", "message": start}, "message_start"),
                  _sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                       "content_block_start")]
        events += [_sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
                        "content_block_delta") for p in _pieces(text)]
        events += [_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
                   _sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                         "usage": {"output_tokens": usage["output_tokens"]}}, "message_delta"),
                   _sse({"type": "message_stop"}, "message_stop")]
        await self.send_events(events, reply)
