"""Public health checks: ``/healthz`` (process alive) and ``/readyz`` (able to serve)."""

from __future__ import annotations

from server.web import PublicHandler


class HealthHandler(PublicHandler):
    """``GET /healthz``: 200 while the process answers."""

    def get(self) -> None:
        self.write_json({"status": "ok"})


class ReadyHandler(PublicHandler):
    """``GET /readyz``: 200 when the store answers and the server is not shutting down, else 503.

    The body lists the provider serving each job type (never a key).
    """

    async def get(self) -> None:
        services = self.services
        store_ok = await services.store.ping()
        accepting = services.runner.accepting
        ready = store_ok and accepting
        describe = services.extras.get("describe_providers")
        self.write_json({
            "status": "ready" if ready else "not_ready",
            "store": "ok" if store_ok else "unreachable",
            "accepting_jobs": accepting,
            "providers": describe() if describe else {},
        }, 200 if ready else 503)
