"""Hostile input that is not about connections (issue 11): invisible titles, forwarded requests for
``/dev/tokens``, oversized and long-lived tokens, the number parser and the new settings.
Real HTTP against a real Tornado server (pytest-tornado) where a route is involved.
"""

from __future__ import annotations

import time
from dataclasses import replace

import jwt
import pytest

from server.auth import TokenVerifier
from server.config import AuthSettings, ConnectionSettings, Settings
from server.errors import ConfigError, InvalidInput, Unauthenticated
from server.numbers import count_or_none, parse_count, parse_seconds
from server.text import visible_strip
from tests.conftest import TEST_SECRET

INVISIBLE_TITLES = ["\u200b", "\u200b\u200c\u200d\ufeff", "\x00\x01\x1f", "\u202e\u2066\u2069", " \u00a0\u3000\t",
                    "\u2028\u2029", "\x7f\x85"]


@pytest.mark.parametrize("title", INVISIBLE_TITLES)
@pytest.mark.gen_test(timeout=10)
async def test_case_title_of_invisible_characters_is_blank(api, title):
    reply = await api.post("/cases", body={"title": title})
    assert reply.status == 400 and reply.json["code"] == "invalid_body" and "blank" in reply.json["detail"]


@pytest.mark.gen_test(timeout=10)
async def test_case_title_keeps_visible_text_and_trims_invisible_ends(api):
    reply = await api.post("/cases", body={"title": "\u200b\u200f Claim \u05d0\u200d\u05d1 \ufeff"})
    assert reply.status == 201 and reply.json["title"] == "Claim \u05d0\u200d\u05d1"  # inner joiner kept


def test_visible_strip_keeps_marks_and_letters():
    assert visible_strip("\u200ba\u0301\u200b") == "a\u0301"
    assert visible_strip("\x00\u200b") == ""


@pytest.fixture
def dev_settings() -> Settings:
    return Settings.from_env({"APP_ENV": "development"})


FORWARDED = [{"X-Forwarded-For": "203.0.113.7"}, {"Forwarded": "for=203.0.113.7"}, {"X-Real-IP": "203.0.113.7"},
             {"Via": "1.1 tunnel"}, {"X-Forwarded-Host": "example.org"}, {"X-Forwarded-Proto": "https"},
             {"True-Client-IP": "203.0.113.7"}, {"CF-Connecting-IP": "203.0.113.7"}]


@pytest.mark.parametrize("headers", FORWARDED, ids=lambda headers: next(iter(headers)))
@pytest.mark.gen_test(timeout=10)
async def test_dev_tokens_refused_through_a_forwarder(api, services, dev_settings, headers):
    services.settings = dev_settings
    assert (await api.get("/dev/tokens", user=None)).status == 200  # direct from loopback: the page signs in
    reply = await api.get("/dev/tokens", user=None, headers=headers)
    assert reply.status == 404 and reply.json["code"] == "no_route" and "token" not in reply.json


@pytest.mark.gen_test(timeout=10)
async def test_dev_tokens_refused_for_a_rebound_host_name(api, services, dev_settings):
    services.settings = dev_settings
    assert (await api.get("/dev/tokens", user=None, headers={"Host": "attacker.example:8000"})).status == 404
    assert (await api.get("/dev/tokens", user=None, headers={"Host": "localhost"})).status == 200
    assert (await api.get("/dev/tokens", user=None, headers={"Host": "[::1]:8000"})).status == 200


@pytest.mark.gen_test(timeout=10)
async def test_dev_tokens_switched_off_by_setting(api, services):
    services.settings = Settings.from_env({"APP_ENV": "development", "DEV_TOKENS": "off"})
    assert not services.settings.dev_tokens
    assert (await api.get("/dev/tokens", user=None)).status == 404


def hs256(subject: str, exp: float, pad: str = "") -> str:
    claims = {"sub": subject, "exp": int(exp), **({"pad": pad} if pad else {})}
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


def test_token_cache_is_bounded_by_bytes():
    verifier = TokenVerifier(AuthSettings(key=TEST_SECRET, algorithms=("HS256",)), max_bytes=64 * 1024,
                             max_token_bytes=8 * 1024)
    later = time.time() + 3600
    for index in range(200):
        assert verifier.verify(hs256(f"user-{index}", later, "p" * 4000)).user_id == f"user-{index}"
        assert verifier.cached_bytes <= 64 * 1024
    assert 0 < len(verifier._cache) < 20
    huge = hs256("big", later, "p" * 50_000)
    assert verifier.verify(huge).user_id == "big" and huge not in verifier._cache  # verified, never cached


def test_token_cache_purges_expired_entries_and_keeps_recent_ones():
    verifier = TokenVerifier(AuthSettings(key=TEST_SECRET, algorithms=("HS256",), leeway_seconds=0))
    verifier.PURGE_INTERVAL_SECONDS = 0.0  # purge on every insert, for the test
    soon = hs256("short", time.time() + 1)
    verifier.verify(soon)
    time.sleep(1.2)
    verifier.verify(hs256("next", time.time() + 3600))
    assert soon not in verifier._cache and len(verifier._cache) == 1
    assert verifier.cached_bytes == len(hs256("next", time.time() + 3600)) + TokenVerifier.ENTRY_OVERHEAD_BYTES
    with pytest.raises(Unauthenticated):
        verifier.verify(soon)


@pytest.mark.parametrize("raw", ["9" * 20, "9" * 5000, "-1", "1.5", "٣", "²", "", " ", "0x10", "1_000"])
def test_parse_count_refuses_before_converting(raw):
    with pytest.raises(InvalidInput) as refused:
        parse_count(raw, name="'since'", code="invalid_since")
    assert refused.value.code == "invalid_since" and "99999" not in refused.value.detail  # never echoed
    assert count_or_none(raw) is None


def test_parse_count_and_seconds_accept_ordinary_values():
    assert parse_count(" 42 ", name="n", code="c") == 42 and parse_count("9" * 19, name="n", code="c") == 10**19 - 1
    with pytest.raises(InvalidInput):
        parse_count("5", name="n", code="c", minimum=1, maximum=4)
    assert parse_seconds("2.5") == 2.5 and parse_seconds("1e3") == 1000.0
    for bad in ("nan", "inf", "1e999", "9" * 40, "", "١"):
        assert parse_seconds(bad) != parse_seconds(bad)  # NaN


def test_connection_settings_from_environment():
    settings = Settings.from_env({"HEADER_TIMEOUT_SECONDS": "5", "BODY_IDLE_SECONDS": "12", "MAX_CONNECTIONS": "4096",
                                  "FD_RESERVE": "256", "DEV_TOKENS": "0"})
    assert settings.connections == ConnectionSettings(5.0, 12.0, 4096, 256) and not settings.dev_tokens
    assert Settings.from_env({}).connections == ConnectionSettings(10.0, 30.0, None, 128)
    for env in ({"FD_RESERVE": "8"}, {"BODY_IDLE_SECONDS": "0"}, {"MAX_CONNECTIONS": "many"}, {"DEV_TOKENS": "maybe"}):
        with pytest.raises(ConfigError):
            Settings.from_env(env)
    assert replace(settings, dev_tokens=True).dev_tokens
