"""Bearer-token authentication through HTTP, and default-deny across the route table."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tornado.web import RequestHandler

from server.app import routes
from server.auth import TokenVerifier, verify_token
from server.config import AuthSettings
from server.docs import SWAGGER_UI_FILES
from server.errors import Unauthenticated
from tests.conftest import TEST_SECRET

PUBLIC_ROUTES = {
    r"/healthz", r"/readyz",
    r"/metrics",  # public unless METRICS_TOKEN is set (tests/ops/test_metrics.py)
    r"/",  # the page itself holds no data; it signs in by itself and sends the token on each API call
    r"/dev/tokens",  # answers 404 unless dev mode with the ephemeral secret (tests/test_page.py)
    r"/openapi.json", r"/docs", rf"/docs/{SWAGGER_UI_FILES}",  # the API's description, no data (tests/openapi)
}


def claims(**extra):
    base = {"sub": "alice", "exp": int(time.time()) + 300}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def hs256(payload, key=TEST_SECRET):
    return jwt.encode(payload, key, algorithm="HS256")


BAD_TOKENS = [
    ("alg none", jwt.encode(claims(), None, algorithm="none")),
    ("wrong secret", hs256(claims(), "another-secret-that-is-also-long-enough-0000")),
    ("expired", hs256(claims(exp=int(time.time()) - 3600))),
    ("missing exp", hs256(claims(exp=None))),
    ("missing sub", hs256(claims(sub=None))),
    ("garbage", "not.a.jwt"),
]


# Test ids from the name only: a token holds the time, and pytest-xdist needs every worker to collect
# the same ids.
@pytest.mark.parametrize("name,token", BAD_TOKENS, ids=[name for name, _ in BAD_TOKENS])
@pytest.mark.gen_test(timeout=10)
async def test_bad_token_is_401_with_www_authenticate(api, name, token):
    reply = await api.get("/jobs", user=None, headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 401, name
    assert reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert reply.json["code"] == "invalid_token" and reply.json["detail"]
    assert token not in reply.body.decode()


@pytest.mark.gen_test(timeout=10)
async def test_missing_or_non_bearer_header_is_401_with_a_bare_challenge(api):
    # RFC 6750 §3.1: a request without a bearer token gets the challenge without an error code.
    missing = await api.get("/jobs", user=None)
    basic = await api.get("/jobs", user=None, headers={"Authorization": "Basic YWxpY2U6cHc="})
    for reply in (missing, basic):
        assert reply.status == 401 and reply.headers["WWW-Authenticate"] == "Bearer"
        assert reply.json["code"] == "invalid_token" and reply.json["detail"]


@pytest.mark.gen_test(timeout=10)
async def test_token_with_aud_and_no_jwt_audience_says_to_set_it(api):
    # Every Supabase access token carries aud "authenticated" (issue 16, item 8).
    reply = await api.get("/jobs", user=None, headers={"Authorization": f"Bearer {hs256(claims(aud='authenticated'))}"})
    assert reply.status == 401 and reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert "JWT_AUDIENCE" in reply.json["detail"] and "authenticated" in reply.json["detail"]


def test_token_with_the_configured_audience_is_accepted_and_another_refused():
    settings = AuthSettings(key=TEST_SECRET, algorithms=("HS256",), audience="authenticated")
    assert verify_token(settings, hs256(claims(aud="authenticated"))).user_id == "alice"
    with pytest.raises(Unauthenticated, match="another audience"):
        verify_token(settings, hs256(claims(aud="anon")))


@pytest.mark.gen_test(timeout=10)
async def test_token_in_query_string_is_not_accepted(api):
    token = api.token()
    reply = await api.get(f"/jobs?access_token={token}&token={token}", user=None)
    assert reply.status == 401


@pytest.mark.gen_test(timeout=10)
async def test_valid_token_is_accepted(api):
    reply = await api.get("/jobs")
    assert reply.status == 200 and reply.json["jobs"] == [] and reply.json["count"] == 0


def test_hs256_token_signed_with_the_public_key_is_rejected():
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    settings = AuthSettings(key=pem, algorithms=("ES256",))
    good = jwt.encode(claims(), private, algorithm="ES256")
    assert verify_token(settings, good).user_id == "alice"
    # The classic confusion attack: an HS256 token whose HMAC key is the public key's PEM text.
    # PyJWT refuses to create one, so it is built by hand.
    for token in (hand_signed_hs256(claims(), pem.encode()), hand_signed_hs256(claims(), b"x" * 32)):
        with pytest.raises(Unauthenticated):
            verify_token(settings, token)


def hand_signed_hs256(payload: dict, key: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(payload).encode())
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def test_audience_and_issuer_are_checked_exactly():
    settings = AuthSettings(key=TEST_SECRET, algorithms=("HS256",), audience="cases-api", issuer="https://idp.example")
    assert verify_token(settings, hs256(claims(aud="cases-api", iss="https://idp.example"))).user_id == "alice"
    for bad in (claims(aud="other", iss="https://idp.example"), claims(aud="cases-api", iss="https://idp"),
                claims(aud="cases-api", iss="https://idp.example.evil"), claims(iss="https://idp.example")):
        with pytest.raises(Unauthenticated):
            verify_token(settings, hs256(bad))


def test_admin_role_from_role_or_supabase_app_metadata():
    settings = AuthSettings(key=TEST_SECRET, algorithms=("HS256",))
    assert verify_token(settings, hs256(claims(role="admin"))).is_admin
    assert verify_token(settings, hs256(claims(app_metadata={"role": "admin"}))).is_admin
    assert not verify_token(settings, hs256(claims(role="authenticated"))).is_admin


def test_leeway_accepts_slightly_expired_token():
    settings = AuthSettings(key=TEST_SECRET, algorithms=("HS256",), leeway_seconds=10)
    assert verify_token(settings, hs256(claims(exp=int(time.time()) - 3))).user_id == "alice"


@pytest.mark.gen_test(timeout=20)
async def test_every_route_but_public_ones_requires_a_token(api, services):
    table = routes(services)
    assert PUBLIC_ROUTES <= {pattern for pattern, *_ in table}
    for pattern, handler, _ in table:
        path = pattern.replace("([^/]+)", "0190b5d2-0000-7000-8000-000000000000").rstrip("$")
        methods = [m for m in ("GET", "POST", "PUT", "DELETE")
                   if getattr(handler, m.lower()) is not getattr(RequestHandler, m.lower())]
        assert methods, pattern
        for method in methods:
            reply = await api.request(method, path, user=None, body=b"{}" if method in ("POST", "PUT") else None)
            if pattern in PUBLIC_ROUTES:
                assert reply.status != 401, (method, pattern)
            else:
                assert reply.status == 401, (method, pattern)


def test_token_cache_never_outlives_exp():
    settings = AuthSettings(key=TEST_SECRET, algorithms=("HS256",), leeway_seconds=0)
    verifier = TokenVerifier(settings, max_entries=2)
    exp = int(time.time()) + 2  # valid for at least 1 s: exp + 1 could end a millisecond after minting
    token = hs256(claims(exp=exp))
    assert verifier.verify(token).user_id == "alice"
    assert verifier.verify(token).user_id == "alice"  # from the cache
    time.sleep(max(0.0, exp + 0.1 - time.time()))  # just past exp (PyJWT and the cache: expired at exp)
    with pytest.raises(Unauthenticated):
        verifier.verify(token)
    for user in ("a", "b", "c"):  # bounded: the oldest entries go first
        verifier.verify(hs256(claims(sub=user)))
    assert len(verifier._cache) == 2


def test_role_claim_as_a_list_or_object_never_breaks_verification():
    settings = AuthSettings(key=TEST_SECRET, algorithms=("HS256",))
    assert verify_token(settings, hs256(claims(role=["user", "admin"]))).is_admin
    assert not verify_token(settings, hs256(claims(role=["user"]))).is_admin
    assert not verify_token(settings, hs256(claims(app_metadata={"role": {"a": 1}}))).is_admin
