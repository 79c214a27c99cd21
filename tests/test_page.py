"""The page route, its static files and their security headers, and ``GET /dev/tokens``."""

from __future__ import annotations

import json
import re

import jwt
import pytest

from server.__main__ import _print_dev_tokens
from server.auth import verify_token
from server.config import AuthSettings, Settings
from server.page import CONTENT_SECURITY_POLICY

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def test_policy_forbids_inline_script_and_other_origins():
    directives = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe" not in CONTENT_SECURITY_POLICY
    assert directives["default-src"] == "'self'" and directives["connect-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


@pytest.mark.gen_test(timeout=10)
async def test_page_is_public_html_with_security_headers(http_client, base_url):
    reply = await http_client.fetch(base_url + "/", raise_error=False)
    assert reply.code == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert b"<html" in reply.body.lower() and b'type="module"' in reply.body
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers[name] == value


@pytest.mark.gen_test(timeout=10)
async def test_static_module_has_security_headers_and_js_type(http_client, base_url):
    reply = await http_client.fetch(base_url + "/static/js/main.js", raise_error=False)
    assert reply.code == 200
    assert "javascript" in reply.headers["Content-Type"]
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers[name] == value


@pytest.mark.gen_test(timeout=10)
async def test_dev_tokens_are_404_with_a_configured_secret(api):
    reply = await api.get("/dev/tokens", user=None)
    assert reply.status == 404 and "token" not in reply.body.decode().replace("no_route", "")


@pytest.fixture
def dev_settings() -> Settings:
    return Settings.from_env({"APP_ENV": "development"})


@pytest.mark.gen_test(timeout=10)
async def test_dev_tokens_in_dev_mode_sign_in_user_and_admin(http_client, base_url, services, dev_settings):
    assert dev_settings.dev_mode and dev_settings.auth.ephemeral
    # The app under test was built from the fixed-secret settings; swap in an ephemeral dev secret.
    services.settings = dev_settings
    response = await http_client.fetch(base_url + "/dev/tokens", raise_error=False)
    assert response.code == 200 and response.headers["Cache-Control"] == "no-store"
    tokens = {item["user"]: item["token"] for item in json.loads(response.body)["tokens"]}
    assert set(tokens) == {"dev-user", "dev-admin"}
    assert not verify_token(dev_settings.auth, tokens["dev-user"]).is_admin
    assert verify_token(dev_settings.auth, tokens["dev-admin"]).is_admin


@pytest.mark.gen_test(timeout=10)
async def test_the_start_up_banner_and_dev_tokens_give_tokens_of_one_lifetime(http_client, base_url, services,
                                                                              dev_settings, capsys):
    """The banner's tokens lasted 24 h and the page's 12 h; the banner now says how long they last."""
    services.settings = dev_settings
    response = await http_client.fetch(base_url + "/dev/tokens")
    tokens = [item["token"] for item in json.loads(response.body)["tokens"]]
    _print_dev_tokens(dev_settings)
    banner = capsys.readouterr().out
    tokens += re.findall(r"^\w+ +\(dev-\w+\): +(\S+)$", banner, re.MULTILINE)
    lifetimes = {claims["exp"] - claims["iat"] for claims in
                 (jwt.decode(token, options={"verify_signature": False}) for token in tokens)}
    assert len(tokens) == 4 and lifetimes == {12 * 3600}
    assert "(or after 12 h)" in banner

@pytest.mark.gen_test(timeout=10)
async def test_dev_tokens_are_404_in_production(http_client, base_url, services):
    services.settings = Settings(auth=AuthSettings(key="k" * 40, algorithms=("HS256",), ephemeral=True),
                                 production=True)
    response = await http_client.fetch(base_url + "/dev/tokens", raise_error=False)
    assert response.code == 404
