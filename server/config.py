"""Settings read from the environment, validated once at start-up.

``Settings.from_env(os.environ)`` returns one frozen object or raises ``ConfigError`` with a
message naming the variable and what it expects. Nothing is read at import time.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from server.analysis.providers.config import LLMSettings
from server.errors import ConfigError

_MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key must be at least as long as the hash (256 bits)
_ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and <= {maximum}" if maximum is not None else ""
        raise ConfigError(f"{name} must be >= {minimum}{upper}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > minimum:
        raise ConfigError(f"{name} must be > {minimum}, got {value}")
    return value


def _csv(env: Mapping[str, str], name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class AuthSettings:
    """How bearer tokens are verified.

    Attributes:
        key: HS256 shared secret, or PEM public key for RS256/ES256.
        algorithms: the accepted ``alg`` values, fixed here, never taken from the token.
        audience / issuer: checked exactly when set (``aud`` / ``iss`` claims).
        leeway_seconds: clock skew allowed on ``exp``/``nbf``/``iat``.
        role_claim: dotted path of the role claim (``role`` or Supabase's ``app_metadata.role``).
        admin_roles: role values that make a user admin.
        ephemeral: True when the secret was generated at start-up (dev mode only).
    """

    key: str
    algorithms: tuple[str, ...]
    audience: str | None = None
    issuer: str | None = None
    leeway_seconds: int = 10
    role_claims: tuple[str, ...] = ("role", "app_metadata.role")
    admin_roles: tuple[str, ...] = ("admin",)
    ephemeral: bool = False


def _auth_from_env(env: Mapping[str, str], production: bool) -> AuthSettings:
    secret = env.get("JWT_SECRET", "")
    public_key = env.get("JWT_PUBLIC_KEY", "")
    common = dict(
        audience=env.get("JWT_AUDIENCE") or None,
        issuer=env.get("JWT_ISSUER") or None,
        leeway_seconds=_int(env, "JWT_LEEWAY_SECONDS", 10, maximum=300),
        role_claims=_csv(env, "JWT_ROLE_CLAIM", ("role", "app_metadata.role")),
        admin_roles=_csv(env, "ADMIN_ROLES", ("admin",)),
    )
    if secret and public_key:
        raise ConfigError("Set either JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256 PEM), not both")
    if public_key:
        if "BEGIN PUBLIC KEY" not in public_key:
            raise ConfigError("JWT_PUBLIC_KEY must be a PEM public key ('-----BEGIN PUBLIC KEY-----')")
        algorithms = _csv(env, "JWT_ALGORITHMS", _ASYMMETRIC_ALGORITHMS)
        if not set(algorithms) <= set(_ASYMMETRIC_ALGORITHMS):
            raise ConfigError(f"JWT_ALGORITHMS must be among {', '.join(_ASYMMETRIC_ALGORITHMS)} with JWT_PUBLIC_KEY")
        return AuthSettings(key=public_key, algorithms=algorithms, **common)  # type: ignore[arg-type]
    if secret:
        if len(secret.encode()) < _MIN_SECRET_BYTES:
            raise ConfigError(f"JWT_SECRET must be at least {_MIN_SECRET_BYTES} bytes; generate one with "
                              "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
        return AuthSettings(key=secret, algorithms=("HS256",), **common)  # type: ignore[arg-type]
    if production:
        raise ConfigError("APP_ENV=production needs JWT_SECRET (>= 32 bytes) or JWT_PUBLIC_KEY (PEM)")
    return AuthSettings(key=secrets.token_urlsafe(48), algorithms=("HS256",), ephemeral=True, **common)  # type: ignore[arg-type]


def _concurrency_overrides(env: Mapping[str, str]) -> dict[str, int]:
    """``JOB_CONCURRENCY_<JOB_TYPE>=N`` overrides the per-type concurrency (e.g. JOB_CONCURRENCY_CALL_ANALYSIS=2)."""
    prefix = "JOB_CONCURRENCY_"
    return {
        name[len(prefix):].lower(): _int(env, name, 1, minimum=1)
        for name in env
        if name.startswith(prefix) and len(name) > len(prefix)
    }


@dataclass(frozen=True)
class JobSettings:
    """Job engine limits. Units: seconds and counts."""

    ttl_seconds: int = 86400
    sweep_interval_seconds: float = 60.0
    max_stored_jobs: int = 100_000
    concurrency: int = 4
    concurrency_by_type: dict[str, int] = field(default_factory=dict)
    timeout_seconds: float = 600.0
    max_active_per_user: int = 10
    shutdown_grace_seconds: float = 25.0
    lease_seconds: float = 30.0


def _jobs_from_env(env: Mapping[str, str]) -> JobSettings:
    return JobSettings(
        ttl_seconds=_int(env, "JOB_TTL_SECONDS", 86400, minimum=1),
        sweep_interval_seconds=_float(env, "JOB_SWEEP_INTERVAL_SECONDS", 60.0),
        max_stored_jobs=_int(env, "MAX_STORED_JOBS", 100_000, minimum=1),
        concurrency=_int(env, "JOB_CONCURRENCY", 4, minimum=1),
        concurrency_by_type=_concurrency_overrides(env),
        timeout_seconds=_float(env, "JOB_TIMEOUT_SECONDS", 600.0),
        max_active_per_user=_int(env, "MAX_ACTIVE_JOBS_PER_USER", 10, minimum=1),
        shutdown_grace_seconds=_float(env, "SHUTDOWN_GRACE_SECONDS", 25.0, minimum=-0.001),
        lease_seconds=_float(env, "JOB_LEASE_SECONDS", 30.0, minimum=1.0),
    )


@dataclass(frozen=True)
class StoreSettings:
    """Where jobs live (issue 13).

    Attributes:
        url: ``memory://`` (default: this process only, lost on restart) or ``redis://`` /
            ``rediss://`` (TLS; add ``?ssl_cert_reqs=none`` for Heroku Redis's self-signed
            certificate), from ``JOB_STORE_URL``, else ``REDIS_URL``.
        prefix: key prefix in Redis (``JOB_STORE_PREFIX``, default ``jobs:``), so two deployments
            can share one Redis.
        source: the variable ``url`` came from, for error messages.
    """

    url: str = "memory://"
    prefix: str = "jobs:"
    source: str = "JOB_STORE_URL"

    @property
    def is_redis(self) -> bool:
        """True for a ``redis://`` or ``rediss://`` URL."""
        return self.url.startswith(("redis://", "rediss://"))


def _store_from_env(env: Mapping[str, str]) -> StoreSettings:
    url, source = env.get("JOB_STORE_URL", "").strip(), "JOB_STORE_URL"
    if not url and env.get("REDIS_URL", "").strip():
        url, source = env["REDIS_URL"].strip(), "REDIS_URL"
    url = url or "memory://"
    if url != "memory://" and not url.startswith(("redis://", "rediss://")):
        raise ConfigError(f"{source} must be memory:// or a redis:// or rediss:// URL")
    prefix = env.get("JOB_STORE_PREFIX", "jobs:")
    if not prefix or any(ch.isspace() for ch in prefix) or len(prefix) > 64:
        raise ConfigError("JOB_STORE_PREFIX must be 1 to 64 characters without spaces (default jobs:)")
    return StoreSettings(url=url, prefix=prefix, source=source)


@dataclass(frozen=True)
class PushSettings:
    """Long-poll and event-stream limits. Units: seconds and counts.

    ``longpoll_max_seconds`` defaults to 25 because Heroku's router drops a request that sends
    nothing for 30 s.
    """

    longpoll_max_seconds: float = 25.0
    max_per_user: int = 20
    max_total: int = 20_000
    keepalive_seconds: float = 15.0


def _push_from_env(env: Mapping[str, str]) -> PushSettings:
    return PushSettings(
        longpoll_max_seconds=_float(env, "LONGPOLL_MAX_SECONDS", 25.0),
        max_per_user=_int(env, "LONGPOLL_MAX_PER_USER", 20, minimum=1),
        max_total=_int(env, "LONGPOLL_MAX_TOTAL", 20_000, minimum=1),
        keepalive_seconds=_float(env, "SSE_KEEPALIVE_SECONDS", 15.0),
    )


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
_LOG_FORMATS = ("text", "json")
_MIN_METRICS_TOKEN_CHARS = 16


@dataclass(frozen=True)
class HttpSettings:
    """Request limits and cross-origin access.

    Attributes:
        max_json_body_bytes: largest JSON request body, bytes (``MAX_JSON_BODY_BYTES``); larger
            bodies get 413 before they are read.
        cors_origins: origins allowed to call the API from a browser (``CORS_ORIGINS``); empty means
            same-origin only. ``("*",)`` allows any origin (never with credentials; refused in production).
    """

    max_json_body_bytes: int = 1024 * 1024
    cors_origins: tuple[str, ...] = ()


def _http_from_env(env: Mapping[str, str], production: bool) -> HttpSettings:
    origins = tuple(origin.rstrip("/") for origin in _csv(env, "CORS_ORIGINS"))
    if "*" in origins:
        if production:
            raise ConfigError("CORS_ORIGINS=* is refused with APP_ENV=production; list the page origins, "
                              "e.g. CORS_ORIGINS=https://app.example.org")
        if len(origins) > 1:
            raise ConfigError("CORS_ORIGINS is either * or a list of origins, not both")
    else:
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise ConfigError(f"CORS_ORIGINS entries must look like https://host[:port], got {origin!r}")
    return HttpSettings(
        max_json_body_bytes=_int(env, "MAX_JSON_BODY_BYTES", 1024 * 1024, minimum=1024, maximum=64 * 1024 * 1024),
        cors_origins=origins,
    )


@dataclass(frozen=True)
class CasesSettings:
    """Cases, documents and analysis inputs.

    Attributes:
        db_path: SQLite file of cases and documents (``CASES_DB``); its directory is created.
        max_upload_bytes: largest accepted document file, bytes (``MAX_UPLOAD_BYTES``).
        analysis_max_input_chars: characters of transcript plus document text sent to a provider
            for one analysis (``ANALYSIS_MAX_INPUT_CHARS``); longer inputs are cut and marked truncated.
    """

    db_path: str = "./data/cases.db"
    max_upload_bytes: int = 25 * 1024 * 1024
    analysis_max_input_chars: int = 400_000


def _cases_from_env(env: Mapping[str, str]) -> CasesSettings:
    return CasesSettings(
        db_path=env.get("CASES_DB", "").strip() or "./data/cases.db",
        max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1024, maximum=1024**3),
        analysis_max_input_chars=_int(env, "ANALYSIS_MAX_INPUT_CHARS", 400_000, minimum=1000),
    )


@dataclass(frozen=True)
class ObservabilitySettings:
    """Logs and metrics.

    Attributes:
        log_level: root log level name (``LOG_LEVEL``).
        log_format: ``text`` (one readable line per event) or ``json`` (JSON lines) (``LOG_FORMAT``).
        metrics_token: bearer token ``/metrics`` requires (``METRICS_TOKEN``); None means public.
    """

    log_level: str = "INFO"
    log_format: str = "text"
    metrics_token: str | None = None


def _observability_from_env(env: Mapping[str, str]) -> ObservabilitySettings:
    level = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    log_format = env.get("LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in _LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, got {log_format!r}")
    token = env.get("METRICS_TOKEN", "").strip() or None
    if token is not None and len(token) < _MIN_METRICS_TOKEN_CHARS:
        raise ConfigError(f"METRICS_TOKEN must be at least {_MIN_METRICS_TOKEN_CHARS} characters; generate one with "
                          "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return ObservabilitySettings(log_level=level, log_format=log_format, metrics_token=token)


@dataclass(frozen=True)
class Settings:
    """Every setting of the server. Build with ``Settings.from_env``; tests may build it directly."""

    auth: AuthSettings
    jobs: JobSettings = field(default_factory=JobSettings)
    push: PushSettings = field(default_factory=PushSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    cases: CasesSettings = field(default_factory=CasesSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    llm: LLMSettings = field(default_factory=lambda: LLMSettings.from_env({}))  # no keys: offline analyzer
    production: bool = False
    host: str = "0.0.0.0"  # noqa: S104  # a dyno must listen on every interface
    port: int = 8000
    web_concurrency: int = 1

    @property
    def dev_mode(self) -> bool:
        """True outside production: dev tokens printed, demo data seeded, offline analyzer allowed."""
        return not self.production

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and validate every variable.

        Args:
            env: the environment (``os.environ``) or a test's dict.
        Returns:
            Settings.
        Raises:
            ConfigError: naming the variable and what it expects.
        """
        app_env = env.get("APP_ENV", "development").strip().lower()
        if app_env not in ("development", "production", "test"):
            raise ConfigError(f"APP_ENV must be development, test or production, got {app_env!r}")
        production = app_env == "production"
        return cls(
            auth=_auth_from_env(env, production),
            jobs=_jobs_from_env(env),
            push=_push_from_env(env),
            http=_http_from_env(env, production),
            observability=_observability_from_env(env),
            cases=_cases_from_env(env),
            store=_store_from_env(env),
            llm=LLMSettings.from_env(env, production=production),
            production=production,
            host=env.get("HOST", "").strip() or "0.0.0.0",  # noqa: S104
            port=_int(env, "PORT", 8000, minimum=1, maximum=65535),
            web_concurrency=_int(env, "WEB_CONCURRENCY", 1, minimum=1),
        )
