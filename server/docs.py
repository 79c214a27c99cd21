"""``GET /openapi.json`` (the document, public and cacheable) and ``GET /docs`` (Swagger UI).

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package (``swagger_ui_bundle``), served
by this server: no CDN. The page keeps the strict Content-Security-Policy of ``server.page``; its
set-up script is ``server/static/docs.js`` (no inline script). The user pastes a token with
"Authorize" and sends requests from the page.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import swagger_ui_bundle
import tornado.web

from server.openapi import document_bytes
from server.page import set_security_headers
from server.web import PublicHandler

SWAGGER_UI_DIR: str = swagger_ui_bundle.swagger_ui_path
SWAGGER_UI_FILES = r"(swagger-ui\.css|swagger-ui-bundle\.js|favicon-32x32\.png)"
DOCUMENT_MAX_AGE_SECONDS = 300  # proxies and browsers may reuse it this long; a deploy is seen within 5 min

DOCS_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>API reference - case analysis job server</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


@dataclass(frozen=True)
class Document:
    """The encoded document and its strong ETag (a hash of the bytes)."""

    body: bytes
    etag: str

    @classmethod
    def build(cls, longpoll_max_seconds: float) -> Document:
        """Generate the document from the models and ``server.openapi.PATHS`` (~60 ms)."""
        body = document_bytes(longpoll_max_seconds)
        return cls(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


@functools.lru_cache(maxsize=4)
def document_for(longpoll_max_seconds: float) -> Document:
    """The document for a server whose long-polls wait at most ``longpoll_max_seconds``: built at
    start-up (``server.app.startup``) or on first use, then reused (it depends on nothing else, and
    the cache holds an immutable value, so apps built in one process share it safely)."""
    return Document.build(longpoll_max_seconds)


class OpenApiHandler(PublicHandler):
    """``GET /openapi.json``: public, cacheable (``Cache-Control: public``, ETag, 304)."""

    def get(self) -> None:
        document = document_for(self.services.settings.push.longpoll_max_seconds)
        self.set_header("Cache-Control", f"public, max-age={DOCUMENT_MAX_AGE_SECONDS}")
        self.set_header("ETag", document.etag)
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        self.finish(document.body)


class DocsHandler(PublicHandler):
    """``GET /docs``: the Swagger UI page."""

    def set_default_headers(self) -> None:
        set_security_headers(self)
        self.set_header("Cache-Control", "no-cache")

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(DOCS_PAGE)


class SwaggerAssetHandler(tornado.web.StaticFileHandler):
    """``/docs/<file>``: Swagger UI's files from the installed package, with the page's security headers."""

    def set_default_headers(self) -> None:
        set_security_headers(self)
