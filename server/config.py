"""Settings read from the environment, validated once at start-up.

``Settings.from_env(os.environ)`` returns one frozen object or raises ``ConfigError`` with a
message listing every problem found, each naming its variable and what it expects (one restart to
learn them all, not one per problem). Nothing is read at import time.

Each group of variables is a pydantic-settings model (``_AuthEnvironment``, ``_JobsEnvironment``...,
read by ``server.environment.read``); the frozen dataclasses built from them (``AuthSettings``,
``JobSettings``...) are what the rest of the server uses, and what tests build directly. Rules that
involve several variables (a secret or a public key, never both; SQLite refused in production...)
are checked when the dataclass is built.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from server.analysis.providers.config import LLMSettings, provider_variable, read_llm
from server.cases.database import is_sqlite, normalize_url, sqlite_url
from server.environment import (
    EnvironmentSection,
    choice,
    comma_list,
    integer,
    raise_problems,
    read,
    read_integer,
    reveal,
    seconds,
    secret_text,
    switch,
    text,
)
from server.errors import ConfigError

T = TypeVar("T")

_MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key must be at least as long as the hash (256 bits)
_ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
_LOG_FORMATS = ("text", "json")
_MIN_METRICS_TOKEN_CHARS = 16
_CONCURRENCY_PREFIX = "JOB_CONCURRENCY_"


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

    key: str = field(repr=False)  # a secret (HS256) or a public key: kept out of logs either way
    algorithms: tuple[str, ...]
    audience: str | None = None
    issuer: str | None = None
    leeway_seconds: int = 10
    role_claims: tuple[str, ...] = ("role", "app_metadata.role")
    admin_roles: tuple[str, ...] = ("admin",)
    ephemeral: bool = False


class _AuthEnvironment(EnvironmentSection):
    """The variables of AuthSettings."""

    JWT_SECRET: Annotated[SecretStr | None, secret_text(strip=False)] = None
    JWT_PUBLIC_KEY: Annotated[SecretStr | None, secret_text(strip=False)] = None
    JWT_AUDIENCE: str = ""
    JWT_ISSUER: str = ""
    JWT_LEEWAY_SECONDS: Annotated[int, integer(0, 300)] = AuthSettings.leeway_seconds
    JWT_ROLE_CLAIM: Annotated[tuple[str, ...], comma_list()] = AuthSettings.role_claims
    ADMIN_ROLES: Annotated[tuple[str, ...], comma_list()] = AuthSettings.admin_roles
    JWT_ALGORITHMS: Annotated[tuple[str, ...], comma_list()] = _ASYMMETRIC_ALGORITHMS


def _auth(env: _AuthEnvironment, production: bool) -> AuthSettings:
    secret = reveal(env.JWT_SECRET) or ""
    public_key = reveal(env.JWT_PUBLIC_KEY) or ""
    common = dict(audience=env.JWT_AUDIENCE or None, issuer=env.JWT_ISSUER or None,
                  leeway_seconds=env.JWT_LEEWAY_SECONDS, role_claims=env.JWT_ROLE_CLAIM, admin_roles=env.ADMIN_ROLES)
    if secret and public_key:
        raise ConfigError("Set either JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256 PEM), not both")
    if public_key:
        if "BEGIN PUBLIC KEY" not in public_key:
            raise ConfigError("JWT_PUBLIC_KEY must be a PEM public key ('-----BEGIN PUBLIC KEY-----')")
        if not set(env.JWT_ALGORITHMS) <= set(_ASYMMETRIC_ALGORITHMS):
            raise ConfigError(f"JWT_ALGORITHMS must be among {', '.join(_ASYMMETRIC_ALGORITHMS)} with JWT_PUBLIC_KEY")
        return AuthSettings(key=public_key, algorithms=env.JWT_ALGORITHMS, **common)  # type: ignore[arg-type]
    if secret:
        if len(secret.encode()) < _MIN_SECRET_BYTES:
            raise ConfigError(f"JWT_SECRET must be at least {_MIN_SECRET_BYTES} bytes; generate one with "
                              "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
        return AuthSettings(key=secret, algorithms=("HS256",), **common)  # type: ignore[arg-type]
    if production:
        raise ConfigError("APP_ENV=production needs JWT_SECRET (>= 32 bytes) or JWT_PUBLIC_KEY (PEM)")
    return AuthSettings(key=secrets.token_urlsafe(48), algorithms=("HS256",), ephemeral=True, **common)  # type: ignore[arg-type]


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


class _JobsEnvironment(EnvironmentSection):
    """The variables of JobSettings (JOB_CONCURRENCY_<TYPE> are read apart)."""

    JOB_TTL_SECONDS: Annotated[int, integer(1)] = JobSettings.ttl_seconds
    JOB_SWEEP_INTERVAL_SECONDS: Annotated[float, seconds()] = JobSettings.sweep_interval_seconds
    MAX_STORED_JOBS: Annotated[int, integer(1)] = JobSettings.max_stored_jobs
    JOB_CONCURRENCY: Annotated[int, integer(1)] = JobSettings.concurrency
    JOB_TIMEOUT_SECONDS: Annotated[float, seconds()] = JobSettings.timeout_seconds
    MAX_ACTIVE_JOBS_PER_USER: Annotated[int, integer(1)] = JobSettings.max_active_per_user
    SHUTDOWN_GRACE_SECONDS: Annotated[float, seconds(inclusive=True)] = JobSettings.shutdown_grace_seconds
    JOB_LEASE_SECONDS: Annotated[float, seconds(1.0, inclusive=True)] = JobSettings.lease_seconds


def _jobs(env: _JobsEnvironment, overrides: dict[str, int]) -> JobSettings:
    return JobSettings(
        ttl_seconds=env.JOB_TTL_SECONDS, sweep_interval_seconds=env.JOB_SWEEP_INTERVAL_SECONDS,
        max_stored_jobs=env.MAX_STORED_JOBS, concurrency=env.JOB_CONCURRENCY, concurrency_by_type=overrides,
        timeout_seconds=env.JOB_TIMEOUT_SECONDS, max_active_per_user=env.MAX_ACTIVE_JOBS_PER_USER,
        shutdown_grace_seconds=env.SHUTDOWN_GRACE_SECONDS, lease_seconds=env.JOB_LEASE_SECONDS,
    )


def _concurrency_overrides(env: Mapping[str, str], problems: list[str]) -> dict[str, int]:
    """``JOB_CONCURRENCY_<JOB_TYPE>=N`` overrides the per-type concurrency (e.g. JOB_CONCURRENCY_CALL_ANALYSIS=2);
    their names are not known in advance, so they are read one by one."""
    return {
        name[len(_CONCURRENCY_PREFIX):].lower(): read_integer(env, name, 1, problems, minimum=1)
        for name in env
        if name.startswith(_CONCURRENCY_PREFIX) and len(name) > len(_CONCURRENCY_PREFIX)
    }


@dataclass(frozen=True)
class StoreSettings:
    """Where jobs live (issue 13).

    Attributes:
        url: ``memory://`` (default: this process only, lost on restart) or ``redis://`` /
            ``rediss://`` (TLS), from ``JOB_STORE_URL``, else ``REDIS_URL``; with
            ``JOB_STORE_TLS_VERIFY=none`` a ``rediss://`` URL carries ``ssl_cert_reqs=none`` (Heroku
            Redis's self-signed certificate), which redis-py reads from the query.
        prefix: key prefix in Redis (``JOB_STORE_PREFIX``, default ``jobs:``), so two deployments
            can share one Redis.
        source: the variable ``url`` came from, for error messages.
    """

    url: str = field(default="memory://", repr=False)  # may hold a password
    prefix: str = "jobs:"
    source: str = "JOB_STORE_URL"

    @property
    def is_redis(self) -> bool:
        """True for a ``redis://`` or ``rediss://`` URL."""
        return self.url.startswith(("redis://", "rediss://"))


class _StoreEnvironment(EnvironmentSection):
    """The variables of StoreSettings."""

    JOB_STORE_URL: Annotated[SecretStr | None, secret_text()] = None
    REDIS_URL: Annotated[SecretStr | None, secret_text()] = None
    JOB_STORE_PREFIX: str = StoreSettings.prefix  # taken as given: spaces are refused, not trimmed
    # "none": Heroku Redis serves rediss:// with a self-signed certificate and rotates REDIS_URL, so
    # the URL is used as Heroku sets it and the setting adds ssl_cert_reqs=none to it.
    JOB_STORE_TLS_VERIFY: Annotated[str, choice("required", "none")] = "required"


def _store(env: _StoreEnvironment) -> StoreSettings:
    url, source = reveal(env.JOB_STORE_URL), "JOB_STORE_URL"
    if url is None and env.REDIS_URL is not None:
        url, source = reveal(env.REDIS_URL), "REDIS_URL"
    url = url or "memory://"
    if url != "memory://" and not url.startswith(("redis://", "rediss://")):
        raise ConfigError(f"{source} must be memory:// or a redis:// or rediss:// URL")
    if env.JOB_STORE_TLS_VERIFY == "none" and url.startswith("rediss://"):
        url = _without_certificate_check(url)
    prefix = env.JOB_STORE_PREFIX
    if not prefix or any(ch.isspace() for ch in prefix) or len(prefix) > 64:
        raise ConfigError("JOB_STORE_PREFIX must be 1 to 64 characters without spaces (default jobs:)")
    return StoreSettings(url=url, prefix=prefix, source=source)


def _without_certificate_check(url: str) -> str:
    """``url`` (``rediss://``) with ``ssl_cert_reqs=none`` in its query, replacing any value given
    there; the rest of the URL (password included) is kept as it is."""
    parts = urlsplit(url)
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True)
             if name != "ssl_cert_reqs"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("ssl_cert_reqs", "none")])))


@dataclass(frozen=True)
class PushSettings:
    """Long-poll and event-stream limits. Units: seconds and counts.

    ``longpoll_max_seconds`` defaults to 25 because Heroku's router drops a request that sends
    nothing for 30 s. ``max_per_user`` (``LONGPOLL_MAX_PER_USER``) and ``max_total`` are counted by
    each process: with ``WEB_CONCURRENCY=2`` (or several hosts) a user may hold twice as many waits.
    """

    longpoll_max_seconds: float = 25.0
    max_per_user: int = 20
    max_total: int = 20_000
    keepalive_seconds: float = 15.0


class _PushEnvironment(EnvironmentSection):
    """The variables of PushSettings."""

    LONGPOLL_MAX_SECONDS: Annotated[float, seconds()] = PushSettings.longpoll_max_seconds
    LONGPOLL_MAX_PER_USER: Annotated[int, integer(1)] = PushSettings.max_per_user  # per process
    LONGPOLL_MAX_TOTAL: Annotated[int, integer(1)] = PushSettings.max_total
    SSE_KEEPALIVE_SECONDS: Annotated[float, seconds()] = PushSettings.keepalive_seconds


def _push(env: _PushEnvironment) -> PushSettings:
    return PushSettings(longpoll_max_seconds=env.LONGPOLL_MAX_SECONDS, max_per_user=env.LONGPOLL_MAX_PER_USER,
                        max_total=env.LONGPOLL_MAX_TOTAL, keepalive_seconds=env.SSE_KEEPALIVE_SECONDS)


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


class _HttpEnvironment(EnvironmentSection):
    """The variables of HttpSettings."""

    CORS_ORIGINS: Annotated[tuple[str, ...], comma_list()] = ()
    MAX_JSON_BODY_BYTES: Annotated[int, integer(1024, 64 * 1024 * 1024)] = HttpSettings.max_json_body_bytes


def _http(env: _HttpEnvironment, production: bool) -> HttpSettings:
    origins = tuple(origin.rstrip("/") for origin in env.CORS_ORIGINS)
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
    return HttpSettings(max_json_body_bytes=env.MAX_JSON_BODY_BYTES, cors_origins=origins)


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


class _ConnectionsEnvironment(EnvironmentSection):
    """The variables of ConnectionSettings."""

    HEADER_TIMEOUT_SECONDS: Annotated[float, seconds()] = ConnectionSettings.header_timeout_seconds
    BODY_IDLE_SECONDS: Annotated[float, seconds()] = ConnectionSettings.body_idle_seconds
    MAX_CONNECTIONS: Annotated[int, integer(0)] = 0  # 0: the descriptor limit less FD_RESERVE
    FD_RESERVE: Annotated[int, integer(16)] = ConnectionSettings.fd_reserve


def _connections(env: _ConnectionsEnvironment) -> ConnectionSettings:
    return ConnectionSettings(header_timeout_seconds=env.HEADER_TIMEOUT_SECONDS,
                              body_idle_seconds=env.BODY_IDLE_SECONDS,
                              max_connections=env.MAX_CONNECTIONS or None, fd_reserve=env.FD_RESERVE)


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
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    db_pool_size: int = 5
    db_statement_timeout_seconds: float = 30.0
    migrate_on_start: bool = True
    db_readiness_interval_seconds: float = 5.0

    @property
    def url(self) -> str:
        """The SQLAlchemy async URL the repository connects to."""
        return self.database_url or sqlite_url(self.db_path)


class _CasesEnvironment(EnvironmentSection):
    """The variables of CasesSettings."""

    DATABASE_URL: Annotated[SecretStr | None, secret_text()] = None
    CASES_DB: Annotated[str, text()] = CasesSettings.db_path
    MAX_UPLOAD_BYTES: Annotated[int, integer(1024, 1024**3)] = CasesSettings.max_upload_bytes
    ANALYSIS_MAX_INPUT_CHARS: Annotated[int, integer(1000)] = CasesSettings.analysis_max_input_chars
    EXTRACTION_WORKERS: Annotated[int, integer(2, 64)] = CasesSettings.extraction_workers
    EXTRACTION_PER_USER: Annotated[int, integer(1)] = CasesSettings.extraction_per_user
    EXTRACTION_MEMORY_MB: Annotated[int, integer(128, 64 * 1024)] = CasesSettings.extraction_memory_mb
    EXTRACTION_TIMEOUT_SECONDS: Annotated[float, seconds(0.5)] = CasesSettings.extraction_timeout_seconds
    DATABASE_POOL_SIZE: Annotated[int, integer(1, 100)] = CasesSettings.db_pool_size
    DATABASE_STATEMENT_TIMEOUT_SECONDS: Annotated[float, seconds()] = CasesSettings.db_statement_timeout_seconds
    DATABASE_READINESS_INTERVAL_SECONDS: Annotated[float, seconds(inclusive=True)] = \
        CasesSettings.db_readiness_interval_seconds
    ALLOW_SQLITE_IN_PRODUCTION: str = ""


def _cases(env: _CasesEnvironment, production: bool, problems: list[str]) -> CasesSettings:
    try:
        raw_url = reveal(env.DATABASE_URL)
        database_url = normalize_url(raw_url) if raw_url else None
    except ConfigError as problem:  # noted, so the other settings' problems are reported with it
        problems.append(str(problem))
        database_url = None
    per_user = env.EXTRACTION_PER_USER
    if per_user >= env.EXTRACTION_WORKERS:
        problems.append(f"EXTRACTION_PER_USER must be below EXTRACTION_WORKERS ({env.EXTRACTION_WORKERS}) so one "
                        f"user cannot hold every worker, got {per_user}")
        per_user = 1
    settings = CasesSettings(
        db_path=env.CASES_DB, max_upload_bytes=env.MAX_UPLOAD_BYTES,
        analysis_max_input_chars=env.ANALYSIS_MAX_INPUT_CHARS, extraction_workers=env.EXTRACTION_WORKERS,
        extraction_memory_mb=env.EXTRACTION_MEMORY_MB, extraction_timeout_seconds=env.EXTRACTION_TIMEOUT_SECONDS,
        extraction_per_user=per_user, database_url=database_url, db_pool_size=env.DATABASE_POOL_SIZE,
        db_statement_timeout_seconds=env.DATABASE_STATEMENT_TIMEOUT_SECONDS, migrate_on_start=not production,
        db_readiness_interval_seconds=env.DATABASE_READINESS_INTERVAL_SECONDS,
    )
    if production and is_sqlite(settings.url) and env.ALLOW_SQLITE_IN_PRODUCTION.strip() != "1":
        raise ConfigError("APP_ENV=production needs DATABASE_URL=postgres://... (cases in SQLite live on this "
                          "host's disk only); on a single host with a persistent disk, set "
                          "ALLOW_SQLITE_IN_PRODUCTION=1 to keep SQLite deliberately")
    return settings


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
    metrics_token: str | None = field(default=None, repr=False)


class _ObservabilityEnvironment(EnvironmentSection):
    """The variables of ObservabilitySettings."""

    LOG_LEVEL: str = ""
    LOG_FORMAT: str = ""
    METRICS_TOKEN: Annotated[SecretStr | None, secret_text()] = None


def _observability(env: _ObservabilityEnvironment) -> ObservabilitySettings:
    level = env.LOG_LEVEL.strip().upper() or "INFO"
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    log_format = env.LOG_FORMAT.strip().lower() or "text"
    if log_format not in _LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, got {log_format!r}")
    token = reveal(env.METRICS_TOKEN)
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
        problems: list[str] = []
        late: list[str] = []  # the server's own variables are reported last
        server = read(_ServerEnvironment, env, late)
        app_env = server.APP_ENV.strip().lower()
        if app_env not in ("development", "production", "test"):
            problems.append(f"APP_ENV must be development, test or production, got {app_env!r}")
        production = app_env == "production"
        values = dict(
            auth=_section(problems, _auth, read(_AuthEnvironment, env, problems), production),
            jobs=_jobs(read(_JobsEnvironment, env, problems), _concurrency_overrides(env, problems)),
            push=_push(read(_PushEnvironment, env, problems)),
            http=_section(problems, _http, read(_HttpEnvironment, env, problems), production),
            connections=_connections(read(_ConnectionsEnvironment, env, problems)),
            observability=_section(problems, _observability, read(_ObservabilityEnvironment, env, problems)),
            cases=_section(problems, _cases, read(_CasesEnvironment, env, problems), production, problems),
            store=_section(problems, _store, read(_StoreEnvironment, env, problems)),
            llm=_llm(env, production, problems),
            production=production, host=server.HOST, port=server.PORT, web_concurrency=server.WEB_CONCURRENCY,
            dev_tokens=server.DEV_TOKENS,
        )
        raise_problems(problems + late)
        return cls(**values)  # type: ignore[arg-type]  # no section is None once there is no problem


class _ServerEnvironment(EnvironmentSection):
    """The variables of Settings itself (APP_ENV, HOST, PORT, WEB_CONCURRENCY, DEV_TOKENS)."""

    APP_ENV: str = "development"  # blank is refused, not defaulted
    HOST: Annotated[str, text()] = Settings.host
    PORT: Annotated[int, integer(1, 65535)] = Settings.port
    WEB_CONCURRENCY: Annotated[int, integer(1)] = Settings.web_concurrency
    DEV_TOKENS: Annotated[bool, switch()] = Settings.dev_tokens


def _section(problems: list[str], build: Callable[..., T], *args: Any) -> T | None:
    """``build(*args)``, or None with its ``ConfigError`` noted."""
    try:
        return build(*args)
    except ConfigError as problem:
        problems.append(str(problem))
        return None


def _llm(env: Mapping[str, str], production: bool, problems: list[str]) -> LLMSettings:
    """``LLMSettings`` read with the development rules (a missing key falls back to the offline
    analyzer), so that in production every missing key is reported, not only the first."""
    llm, selected = read_llm(env, problems)
    if not (production and llm.fallbacks):
        return llm
    selecting: dict[str, list[str]] = {}
    for kind in llm.fallbacks:
        selecting.setdefault(selected[kind], []).append(provider_variable(kind))
    for vendor, variables in selecting.items():
        one = len(variables) == 1
        problems.append(f"{vendor.upper()}_API_KEY is required in production: {', '.join(variables)} "
                        f"select{'s' if one else ''} {vendor}; set the key or set {'it' if one else 'them'} to offline")
    return llm
