"""The OpenAI and Anthropic adapters against the fake server, with the real SDK clients."""

from __future__ import annotations

import json

import pytest

from server.analysis.inputs import AnalysisKind
from server.analysis.providers.base import ProviderError
from server.analysis.providers.registry import ProviderSet
from tests.analysis.conftest import USER_ID
from tests.fakes.canned import SAMPLE
from tests.fakes.fake_provider import Reply

# The openai provider serves call_analysis and form 7801, anthropic the agent analysis.
VENDORS = {"openai": AnalysisKind.CALL_ANALYSIS, "anthropic": AnalysisKind.DOCUMENT_ANALYSIS_AGENT}
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}

# fault -> (expected code, expected requests with LLM_MAX_RETRIES=2)
FAULTS = {
    "rate_limited": (Reply.rate_limited, "rate_limited", 3),
    "server_error": (Reply.server_error, "provider_unavailable", 3),
    "slow": (lambda: Reply.slow(3), "provider_unavailable", 3),
    "malformed": (Reply.malformed, "invalid_output", 1),
    "truncated": (Reply.truncated, "invalid_output", 1),
    "refusal": (Reply.refusal, "refused", 1),
    "unauthorized": (Reply.unauthorized, "provider_auth", 1),
}


async def _run(settings, kind, data, progress):
    providers = ProviderSet.build(settings)
    try:
        return await providers.for_kind(kind).analyze(kind, data, progress)
    finally:
        await providers.aclose()


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.gen_test(timeout=20)
async def test_provider_fault_raises_coded_error(vendor, fault, fake_llm, llm_settings, analysis_input, progress):
    make_reply, code, requests = FAULTS[fault]
    fake_llm.script(*(make_reply() for _ in range(3)))
    with pytest.raises(ProviderError) as caught:
        await _run(llm_settings, VENDORS[vendor], analysis_input, progress)
    assert caught.value.code == code
    assert caught.value.message and "fake" not in caught.value.message
    assert len(fake_llm.requests) == requests
    assert {r.path for r in fake_llm.requests} == {PATHS[vendor]}
    assert progress.calls[0][0] == 0 and all(p < 100 for p, _ in progress.calls)


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.gen_test(timeout=20)
async def test_provider_truncated_output_says_cut_off(vendor, fake_llm, llm_settings, analysis_input, progress):
    fake_llm.script(Reply.truncated())
    with pytest.raises(ProviderError) as caught:
        await _run(llm_settings, VENDORS[vendor], analysis_input, progress)
    assert "cut off" in caught.value.message


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.gen_test(timeout=20)
async def test_provider_recovers_after_one_rate_limit(vendor, fake_llm, llm_settings, analysis_input, progress):
    fake_llm.script(Reply.rate_limited())
    outcome = await _run(llm_settings, VENDORS[vendor], analysis_input, progress)
    assert outcome.provider == vendor
    assert len(fake_llm.requests) == 2


@pytest.mark.parametrize("kind", list(AnalysisKind))
@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.gen_test(timeout=20)
async def test_provider_valid_output_is_parsed(vendor, kind, fake_llm, llm_settings, analysis_input, progress):
    settings = llm_settings.__class__(**{**llm_settings.__dict__, "providers": {kind: vendor}})
    expected = kind.schema.model_validate(_offline_json(kind))
    fake_llm.script(Reply.ok(expected.model_dump(mode="json")))
    outcome = await _run(settings, kind, analysis_input, progress)
    assert outcome.output == expected
    assert outcome.provider == vendor
    assert outcome.model == (settings.openai_model if vendor == "openai" else settings.anthropic_model)
    assert outcome.usage.input_tokens > 0 and outcome.usage.output_tokens > 0
    assert outcome.duration_seconds >= 0
    assert len(fake_llm.requests) == 1
    assert progress.calls[0][0] == 0 and progress.calls[-1] == (100, "Analysis received")
    assert len(progress.calls) > 3  # streamed: reports while the output arrives
    assert [p for p, _ in progress.calls] == sorted(p for p, _ in progress.calls)


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.gen_test(timeout=20)
async def test_provider_request_has_texts_and_no_personal_ids(vendor, fake_llm, llm_settings, analysis_input, progress):
    await _run(llm_settings, VENDORS[vendor], analysis_input, progress)
    request = fake_llm.requests[0]
    body = json.dumps(request.body, ensure_ascii=False)
    assert "TRANSCRIPT-MARKER" in body and "DOCUMENT-MARKER" in body
    assert USER_ID not in body and "moshe_cohen" not in body and "doc-1" not in body
    assert request.body["stream"] is True
    assert request.headers.get("authorization", request.headers.get("x-api-key")) == "<redacted>"
    assert "temperature" not in request.body


@pytest.mark.gen_test(timeout=20)
async def test_openai_request_uses_strict_schema(fake_llm, llm_settings, analysis_input, progress):
    await _run(llm_settings, AnalysisKind.CALL_ANALYSIS, analysis_input, progress)
    response_format = fake_llm.requests[0].body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert fake_llm.requests[0].body["max_completion_tokens"] == llm_settings.max_output_tokens


@pytest.mark.gen_test(timeout=20)
async def test_anthropic_request_uses_json_output_format(fake_llm, llm_settings, analysis_input, progress):
    await _run(llm_settings, AnalysisKind.DOCUMENT_ANALYSIS_AGENT, analysis_input, progress)
    body = fake_llm.requests[0].body
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert "claim_strength" in body["output_config"]["format"]["schema"]["properties"]
    assert body["max_tokens"] == llm_settings.max_output_tokens


def _offline_json(kind):
    from server.analysis.providers.offline import analyze_offline

    return analyze_offline(kind, SAMPLE).model_dump(mode="json")
