"""Settings read from the environment, validated once at start-up.

``Settings.from_env(os.environ)`` returns one frozen object or raises ``ConfigError`` with a
message listing every problem found, each naming its variable and what it expects (one restart to
learn them all, not one per problem). Nothing is read at import time.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from server.analysis.providers.config import DEFAULT_PROVIDERS, LLMSettings, provider_variable
from server.cases.database import is_sqlite, normalize_url, sqlite_url
from server.errors import ConfigError

T = TypeVar("T")


class _Reading(Mapping[str, str]):
    """The environment being read, and the problems found so far: a bad number is noted and its
    default used, so that reading goes on and every problem is reported together."""

    def __init__(self, env: Mapping[str, str]):
        self._env = env
        self.problems: list[str] = []

    def __getitem__(self, name: str) -> str:
        return self._env[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)

    def section(self, build: Callable[..., T], *args: Any) -> T | None:
        """``build(*args)``, or None with its ``ConfigError`` noted."""
        try:
            return build(*args)
        except ConfigError as problem:
            self.problems.append(str(problem))
            return None


def _invalid(env: Mapping[str, str], message: str, default: Any) -> Any:
    """Note ``message`` and go on with ``default`` while reading all settings; else raise it."""
    if isinstance(env, _Reading):
        env.problems.append(message)
        return default
    raise ConfigError(message)

_MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key must be at least as long as the hash (256 bits)
_ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        return int(_invalid(env, f"{name} must be an integer, got {raw!r}", default))
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and <= {maximum}" if maximum is not None else ""
        return int(_invalid(env, f"{name} must be >= {minimum}{upper}, got {value}", default))
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0,
           inclusive: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        return float(_invalid(env, f"{name} must be a number of seconds, got {raw!r}", default))
    if value < minimum or (value == minimum and not inclusive):
        return float(_invalid(env, f"{name} must be {'>=' if inclusive else '>'} {minimum:g}, got {raw}", default))
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    return bool(_invalid(env, f"{name} must be on or off (1/0, true/false), got {raw!r}", default))


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
        shutdown_grace_seconds=_float(env, "SHUTDOWN_GRACE_SECONDS", 25.0, inclusive=True),
        lease_seconds=_float(env, "JOB_LEASE_SECONDS", 30.0, minimum=1.0, inclusive=True),
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
class ConnectionSettings:
    """Limits on client connections (``server.limits``). Units: seconds and counts.

    Attributes:
        header_timeout_seconds: longest time to receive a request's headers, and longest idle time
            of a kept-alive connection between requests (``HEADER_TIMEOUT_SECONDS``).
        body_idle_seconds: longest silence between two chunks of a request body
            (``BODY_IDLE_SECONDS``); the whole body may take longer while it keeps arriving.
        max_connections: open connections per process (``MAX_CONNECTIONS``); None: the descriptor
            limit less ``fd_reserve``. Always capped at that.
        fd_reserve: descriptors kept for the server's own files, database and provider connections
            (``FD_RESERVE``).
    """

    header_timeout_seconds: float = 10.0
    body_idle_seconds: float = 30.0
    max_connections: int | None = None
    fd_reserve: int = 128


def _connections_from_env(env: Mapping[str, str]) -> ConnectionSettings:
    configured = _int(env, "MAX_CONNECTIONS", 0, minimum=0)
    return ConnectionSettings(
        header_timeout_seconds=_float(env, "HEADER_TIMEOUT_SECONDS", 10.0),
        body_idle_seconds=_float(env, "BODY_IDLE_SECONDS", 30.0),
        max_connections=configured or None,
        fd_reserve=_int(env, "FD_RESERVE", 128, minimum=16),
    )


@dataclass(frozen=True)
class CasesSettings:
    """Cases, documents and analysis inputs.

    Attributes:
        db_path: SQLite file of cases and documents (``CASES_DB``), used when ``database_url`` is
            None; its directory is created.
        database_url: SQLAlchemy async URL of the case database from ``DATABASE_URL`` (PostgreSQL or
            SQLite; ``postgres://`` mapped to ``postgresql+asyncpg://``), or None for ``db_path``.
        db_pool_size: pooled PostgreSQL connections per process (``DATABASE_POOL_SIZE``; as many
            again may overflow). Heroku's smallest plans allow 20 connections in all.
        db_statement_timeout_seconds: PostgreSQL ``statement_timeout`` and SQLite busy timeout,
            seconds (``DATABASE_STATEMENT_TIMEOUT_SECONDS``).
        db_readiness_interval_seconds: least time between two readiness write probes, seconds
            (``DATABASE_READINESS_INTERVAL_SECONDS``); ``/readyz`` calls in between get the last answer.
        migrate_on_start: True (development, test) applies pending migrations at start-up; False
            (production) refuses an empty or out-of-date schema: ``python -m server migrate`` runs them.
        max_upload_bytes: largest accepted document file, bytes (``MAX_UPLOAD_BYTES``).
        analysis_max_input_chars: characters of transcript plus document text sent to a provider
            for one analysis (``ANALYSIS_MAX_INPUT_CHARS``); longer inputs are cut and marked truncated.
        extraction_workers: worker processes reading uploaded files (``EXTRACTION_WORKERS``, >= 2).
        extraction_memory_mb: memory cap of each worker, MiB (``EXTRACTION_MEMORY_MB``); a file needing
            more is answered 422 ``extraction_too_costly``. The default fits a 512 MB host.
        extraction_timeout_seconds: time limit per file, seconds (``EXTRACTION_TIMEOUT_SECONDS``).
        extraction_per_user: extractions one user runs at once (``EXTRACTION_PER_USER``), fewer than
            ``extraction_workers`` so one user cannot hold every worker.
    """

    db_path: str = "./data/cases.db"
    max_upload_bytes: int = 25 * 1024 * 1024
    analysis_max_input_chars: int = 400_000
    extraction_workers: int = 2
    extraction_memory_mb: int = 256
    extraction_timeout_seconds: float = 30.0
    extraction_per_user: int = 1
    database_url: str | None = None
    db_pool_size: int = 5
    db_statement_timeout_seconds: float = 30.0
    migrate_on_start: bool = True
    db_readiness_interval_seconds: float = 5.0

    @property
    def url(self) -> str:
        """The SQLAlchemy async URL the repository connects to."""
        return self.database_url or sqlite_url(self.db_path)


def _cases_from_env(env: Mapping[str, str], production: bool) -> CasesSettings:
    raw_url = env.get("DATABASE_URL", "").strip()
    try:
        database_url = normalize_url(raw_url) if raw_url else None
    except ConfigError as problem:  # noted, so the other settings' problems are reported with it
        database_url = _invalid(env, str(problem), None)
    settings = CasesSettings(
        db_path=env.get("CASES_DB", "").strip() or "./data/cases.db",
        max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1024, maximum=1024**3),
        analysis_max_input_chars=_int(env, "ANALYSIS_MAX_INPUT_CHARS", 400_000, minimum=1000),
        **_extraction_from_env(env),
        database_url=database_url,
        db_pool_size=_int(env, "DATABASE_POOL_SIZE", 5, minimum=1, maximum=100),
        db_statement_timeout_seconds=_float(env, "DATABASE_STATEMENT_TIMEOUT_SECONDS", 30.0),
        migrate_on_start=not production,
        db_readiness_interval_seconds=_float(env, "DATABASE_READINESS_INTERVAL_SECONDS", 5.0, inclusive=True),
    )
    if production and is_sqlite(settings.url) and env.get("ALLOW_SQLITE_IN_PRODUCTION", "").strip() != "1":
        raise ConfigError("APP_ENV=production needs DATABASE_URL=postgres://... (cases in SQLite live on this "
                          "host's disk only); on a single host with a persistent disk, set "
                          "ALLOW_SQLITE_IN_PRODUCTION=1 to keep SQLite deliberately")
    return settings


def _extraction_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    workers = _int(env, "EXTRACTION_WORKERS", 2, minimum=2, maximum=64)
    per_user = _int(env, "EXTRACTION_PER_USER", 1, minimum=1)
    if per_user >= workers:
        per_user = _invalid(env, f"EXTRACTION_PER_USER must be below EXTRACTION_WORKERS ({workers}) so one user "
                                 f"cannot hold every worker, got {per_user}", 1)
    return {"extraction_workers": workers, "extraction_per_user": per_user,
            "extraction_memory_mb": _int(env, "EXTRACTION_MEMORY_MB", 256, minimum=128, maximum=64 * 1024),
            "extraction_timeout_seconds": _float(env, "EXTRACTION_TIMEOUT_SECONDS", 30.0, minimum=0.5)}


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
    connections: ConnectionSettings = field(default_factory=ConnectionSettings)
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    cases: CasesSettings = field(default_factory=CasesSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    llm: LLMSettings = field(default_factory=lambda: LLMSettings.from_env({}))  # no keys: offline analyzer
    production: bool = False
    host: str = "0.0.0.0"  # noqa: S104  # a dyno must listen on every interface
    port: int = 8000
    web_concurrency: int = 1
    dev_tokens: bool = True  # DEV_TOKENS: GET /dev/tokens in dev mode (off: the page asks for a token)

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
            ConfigError: listing every problem found (one per line when several), each naming
                its variable and what it expects.
        """
        reading = _Reading(env)
        app_env = env.get("APP_ENV", "development").strip().lower()
        if app_env not in ("development", "production", "test"):
            reading.problems.append(f"APP_ENV must be development, test or production, got {app_env!r}")
        production = app_env == "production"
        values = dict(
            auth=reading.section(_auth_from_env, reading, production),
            jobs=reading.section(_jobs_from_env, reading),
            push=reading.section(_push_from_env, reading),
            http=reading.section(_http_from_env, reading, production),
            connections=reading.section(_connections_from_env, reading),
            observability=reading.section(_observability_from_env, reading),
            cases=reading.section(_cases_from_env, reading, production),
            store=reading.section(_store_from_env, reading),
            llm=reading.section(_llm_from_env, reading, production),
            production=production,
            host=env.get("HOST", "").strip() or "0.0.0.0",  # noqa: S104
            port=_int(reading, "PORT", 8000, minimum=1, maximum=65535),
            web_concurrency=_int(reading, "WEB_CONCURRENCY", 1, minimum=1),
            dev_tokens=_switch(reading, "DEV_TOKENS", True),
        )
        _raise_problems(reading.problems)
        return cls(**values)  # type: ignore[arg-type]  # no section is None once there is no problem


def _llm_from_env(env: Mapping[str, str], production: bool) -> LLMSettings:
    """``LLMSettings`` read with the development rules (a missing key falls back to the offline
    analyzer), so that in production every missing key is reported, not only the first."""
    llm = LLMSettings.from_env(env)
    if not (production and llm.fallbacks):
        return llm
    selecting: dict[str, list[str]] = {}
    for kind in llm.fallbacks:
        vendor = (env.get(provider_variable(kind), "").strip() or DEFAULT_PROVIDERS[kind]).lower()
        selecting.setdefault(vendor, []).append(provider_variable(kind))
    for vendor, variables in selecting.items():
        one = len(variables) == 1
        _invalid(env, f"{vendor.upper()}_API_KEY is required in production: {', '.join(variables)} "
                      f"select{'s' if one else ''} {vendor}; set the key or set {'it' if one else 'them'} to offline",
                 None)
    return llm


def _raise_problems(problems: list[str]) -> None:
    """Raise one ``ConfigError`` for every problem: the problem itself when it is the only one."""
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(f"{len(problems)} configuration problems:\n{listed}")
