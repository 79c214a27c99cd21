"""The browser page: ``/`` (``server/static/index.html``), its static files, and ``GET /dev/tokens``.

Every page response carries a Content-Security-Policy that allows scripts, styles and requests
from this origin only and no inline script, so a value that slipped into the DOM as markup
still could not run. The page inserts every server value as text; the policy is the second wall.
"""

from __future__ import annotations

import ipaddress
import os

import tornado.web

from server.auth import DEV_TOKEN_TTL_SECONDS, mint_token
from server.error_codes import ErrorCode
from server.errors import NotFound
from server.views import DevToken, DevTokens
from server.web import PublicHandler

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
DEV_USERS = (("dev-user", False), ("dev-admin", True))


def set_security_headers(handler: tornado.web.RequestHandler) -> None:
    """The headers every page and static response carries."""
    handler.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.set_header("Referrer-Policy", "no-referrer")


class PageHandler(PublicHandler):
    """``GET /``: the single page (``index.html``); public, the page signs in by itself."""

    def set_default_headers(self) -> None:
        set_security_headers(self)
        self.set_header("Cache-Control", "no-cache")  # revalidate, so a deploy is seen at once

    def get(self) -> None:
        static_dir = self.application.settings["static_path"]
        with open(os.path.join(static_dir, "index.html"), "rb") as page:  # a few KB; as StaticFileHandler does
            body = page.read()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(body)


class StaticHandler(tornado.web.StaticFileHandler):
    """``/static/...`` with the page's security headers (``nosniff`` matters for JS modules)."""

    def set_default_headers(self) -> None:
        set_security_headers(self)

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")  # module imports carry no version hash


class DevTokensHandler(PublicHandler):
    """``GET /dev/tokens``: one token per dev user, for the page's one-click sign-in.

    Exists only in dev mode with the ephemeral secret and ``DEV_TOKENS`` on, and only for a
    browser on this machine talking to it directly:

    - the socket's peer address (not ``X-Forwarded-For``) must be loopback: a dev server listening
      on every interface must not hand an admin token to its network;
    - no forwarding header (``FORWARDING_HEADERS``, any ``X-Forwarded-*``): a tunnel, ``ssh -R`` or
      a local reverse proxy connects from loopback too, on behalf of anyone (issue 11);
    - the ``Host`` is a loopback name or address: a page whose DNS name was rebound to 127.0.0.1
      would otherwise read the tokens as same-origin (DNS rebinding).

    Anywhere else it answers like an unknown route (404). The tokens are the kind
    ``python -m server`` prints at start-up.
    """

    def get(self) -> None:
        settings = self.services.settings
        if not (settings.dev_mode and settings.auth.ephemeral and settings.dev_tokens and self._direct_local()):
            raise NotFound("No such endpoint", code=ErrorCode.NO_ROUTE)
        tokens = [
            DevToken(user=user, admin=admin,
                     token=mint_token(settings.auth, user, admin=admin, ttl_seconds=DEV_TOKEN_TTL_SECONDS))
            for user, admin in DEV_USERS
        ]
        self.write_json(DevTokens(tokens=tokens).model_dump(mode="json"))

    def _direct_local(self) -> bool:
        headers = self.request.headers
        if any(_is_forwarding(name) for name in headers):
            return False
        return _is_loopback_host(headers.get("Host", "")) and self._from_loopback()

    def _from_loopback(self) -> bool:
        peer = getattr(self.request.connection, "context", None)
        address = getattr(peer, "address", None)  # the real socket peer; xheaders cannot change it
        if not address:
            return False
        return _is_loopback_address(address[0])


# Headers proxies, tunnels and CDNs add on behalf of the real client (RFC 7239 Forwarded, RFC 9110
# §7.6.3 Via, the de-facto X-Forwarded-* family and vendors' client-address headers).
FORWARDING_HEADERS = frozenset({
    "forwarded", "via", "x-real-ip", "x-client-ip", "client-ip", "true-client-ip", "cf-connecting-ip",
    "fastly-client-ip", "x-cluster-client-ip", "x-original-forwarded-for", "x-proxyuser-ip",
})


def _is_forwarding(name: str) -> bool:
    lowered = name.lower()
    return lowered in FORWARDING_HEADERS or lowered.startswith("x-forwarded-")


def _is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``*.localhost`` (RFC 6761 §6.3) or a loopback address, with any port."""
    name = host.strip().lower()
    if name.startswith("["):  # [::1]:8000
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    return name == "localhost" or name.endswith(".localhost") or _is_loopback_address(name)


def _is_loopback_address(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False
