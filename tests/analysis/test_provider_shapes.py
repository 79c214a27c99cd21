"""Unusable provider answers (issue 11): every shape ends in a documented code through the real SDKs.

An answer that is not the vendor's format at all (an HTML page or free text with status 200, an
empty body, the wrong content type, a stream that stops halfway) is the service failing, not the
model: ``provider_unavailable`` (README "Failures"). Output the model wrote that is not JSON or not
the schema stays ``invalid_output`` (``test_providers.py``).
"""

from __future__ import annotations

import pytest

from server.analysis.providers.base import ProviderError
from server.analysis.providers.registry import ProviderSet
from tests.analysis.test_providers import VENDORS
from tests.fakes.fake_provider import Reply

HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"

SHAPES = {
    "html_with_200": lambda: Reply.raw(HTML, "text/html; charset=utf-8"),
    "text_instead_of_json": lambda: Reply.raw(b"upstream busy, try later", "application/json"),
    "text_instead_of_a_stream": lambda: Reply.raw(b"upstream busy, try later", "text/plain"),
    "empty_body": lambda: Reply.raw(b"", "application/json"),
    "empty_stream": lambda: Reply.raw(b"", "text/event-stream"),
    "json_with_wrong_content_type": lambda: Reply.raw(b'{"id": "x", "object": "chat.completion"}', "text/html"),
    "stream_of_garbage": lambda: Reply.raw(b"data: {not json\n\ndata: <html>\n\n", "text/event-stream"),
    "stream_cut_halfway": Reply.cut_stream,
    "connection_reset_mid_stream": Reply.reset_stream,
}


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.gen_test(timeout=20)
async def test_provider_unusable_answer_is_provider_unavailable(vendor, shape, fake_llm, llm_settings,
                                                                analysis_input, progress, caplog):
    fake_llm.script(*(SHAPES[shape]() for _ in range(3)))
    kind = VENDORS[vendor]
    providers = ProviderSet.build(llm_settings)
    try:
        with pytest.raises(ProviderError) as caught:
            await providers.for_kind(kind).analyze(kind, analysis_input, progress)
    finally:
        await providers.aclose()
    assert caught.value.code == "provider_unavailable", caught.value.__cause__
    assert "502" not in caught.value.message and "upstream" not in caught.value.message
    assert not [record for record in caplog.records if "Traceback" in record.getMessage()]
