"""``python -m server`` plus one test-only route, for the hostile-client tests (``test_hostile.py``).

``GET /test/introspect`` answers what the tests measure inside the server process: request handlers
still alive after a full garbage collection (``gc.get_objects``), resident memory and open
connections. The route is added to the app this script builds; the server's route table is untouched.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

import tornado.web

import server.app as app_module
from server.__main__ import main


def rss_kib() -> int:
    """Resident memory of this process, KiB (``VmRSS``)."""
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


class IntrospectHandler(tornado.web.RequestHandler):
    """``GET /test/introspect``: ``{handlers, rss_kib, open_connections}`` after ``gc.collect()``."""

    def initialize(self, services: Any) -> None:
        self.services = services

    def get(self) -> None:
        gc.collect()
        handlers = sum(1 for obj in gc.get_objects()
                       if isinstance(obj, tornado.web.RequestHandler) and obj is not self)
        server = self.services.http_server
        self.write({"handlers": handlers, "rss_kib": rss_kib(),
                    "open_connections": getattr(server, "open_connections", None),
                    "in_flight": self.services.requests.count})


_make_app = app_module.make_app


def make_app_with_introspection(services: Any) -> tornado.web.Application:
    app = _make_app(services)
    app.add_handlers(r".*", [(r"/test/introspect", IntrospectHandler, {"services": services})])
    return app


if __name__ == "__main__":
    app_module.make_app = make_app_with_introspection  # serve() imports make_app when it runs
    sys.exit(main())
