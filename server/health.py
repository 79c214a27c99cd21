"""Operations endpoints: ``/healthz`` (process alive), ``/readyz`` (able to serve), ``/metrics``."""

from __future__ import annotations

import asyncio
import hmac
import logging

from server.error_codes import ErrorCode
from server.errors import Unauthenticated
from server.services import ReadinessCheck, Services
from server.views import HealthView, ReadyView
from server.web import PublicHandler

log = logging.getLogger(__name__)

READINESS_TIMEOUT_SECONDS = 2.0


class HealthHandler(PublicHandler):
    """``GET /healthz``: 200 while the process answers."""

    def get(self) -> None:
        self.write_json(HealthView(status="ok").model_dump(mode="json"))


class ReadyHandler(PublicHandler):
    services: Services

    """``GET /readyz``: 200 when the store and every registered check answer and the server is not
    shutting down, else 503.

    The body names each check (``ok`` / ``failing``) and lists the provider serving each job type
    (never a key), from ``services.describe_providers`` when the analysis feature set it.
    """

    async def get(self) -> None:
        services = self.services
        checks: dict[str, ReadinessCheck] = {"store": services.store.ping, **services.readiness_checks}
        results = await asyncio.gather(*(_check(name, check) for name, check in checks.items()))
        accepting = services.runner.accepting
        ready = all(results) and accepting
        describe = services.describe_providers
        self.write_json(ReadyView(
            status="ready" if ready else "not_ready",
            checks={name: "ok" if ok else "failing" for name, ok in zip(checks, results, strict=True)},
            store="ok" if results[0] else "unreachable",
            accepting_jobs=accepting,
            providers=describe() if describe else {},
        ).model_dump(mode="json"), 200 if ready else 503)


async def _check(name: str, check: ReadinessCheck) -> bool:
    try:
        return bool(await asyncio.wait_for(check(), READINESS_TIMEOUT_SECONDS))
    except asyncio.TimeoutError:
        log.warning("readiness check timed out check=%s", name)
    except Exception as error:
        log.warning("readiness check failed check=%s error=%s", name, type(error).__name__)
    return False


class MetricsHandler(PublicHandler):
    """``GET /metrics``: Prometheus text format, or OpenMetrics when ``Accept`` asks for it.

    Public unless ``METRICS_TOKEN`` is set; then it needs ``Authorization: Bearer <METRICS_TOKEN>``
    (compared in constant time). User tokens do not open it.
    """

    def get(self) -> None:
        expected = self.services.settings.observability.metrics_token
        if expected is not None:
            header = self.request.headers.get("Authorization", "")
            scheme, _, given = header.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
                raise Unauthenticated("/metrics needs the metrics bearer token", code=ErrorCode.INVALID_TOKEN)
        body, content_type = self.services.metrics.render_for(self.request.headers.get("Accept", ""))
        self.set_header("Content-Type", content_type)
        self.finish(body)
