"""Command line: ``python -m server`` serves; ``python -m server token --sub NAME`` mints a token."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import socket
import sys
from typing import NoReturn

import tornado.netutil

from server.auth import DEV_TOKEN_TTL_SECONDS, mint_token
from server.config import Settings
from server.errors import ConfigError
from server.jobs.redis_store import masked_url
from server.logs import configure_logging

log = logging.getLogger("server")


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m server", description="Job server for case analyses")
    parser.add_argument("--port", type=int, help="listen port (default $PORT or 8000)")
    parser.add_argument("--processes", type=int, default=None,
                        help="processes serving one port (default $WEB_CONCURRENCY or 1); "
                             "more than 1 needs JOB_STORE_URL=redis://...")
    commands = parser.add_subparsers(dest="command")
    token = commands.add_parser("token", help="mint a bearer token signed with JWT_SECRET")
    token.add_argument("--sub", required=True, help="user id (the token's sub claim)")
    token.add_argument("--admin", action="store_true", help="give the token the admin role")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    commands.add_parser("migrate", help="apply the case database's pending schema migrations (DATABASE_URL)")
    return parser.parse_args(argv)


CLOSING_RESERVE_SECONDS = 3.0  # of the grace, kept for answering, closing connections and closers
LISTEN_BACKLOG = 1024  # Tornado's default 128 resets connections in a burst of clients


def _process_count(processes: int | None, settings: Settings) -> int:
    """How many processes to run: ``--processes``, else ``WEB_CONCURRENCY``; several need a shared store."""
    count = processes if processes is not None else settings.web_concurrency
    if count < 1:
        raise ConfigError("--processes must be at least 1")
    if count != 1 and not settings.store.is_redis:
        asked = f"--processes {count}" if processes is not None else f"WEB_CONCURRENCY={count}"
        raise ConfigError(f"{asked} asks for several processes, but the in-memory job store (JOB_STORE_URL="
                          "memory://) serves one process only: a job created in one process would be invisible "
                          "to polls answered by another. Set JOB_STORE_URL=redis://... to share jobs, or run one "
                          "process (unset WEB_CONCURRENCY or set it to 1; drop --processes).")
    return count


def _check_store(settings: Settings) -> None:
    """Exit early, with one line, when the Redis job store cannot be reached (issue 13)."""
    if not settings.store.is_redis:
        return
    from server.jobs.redis_store import reachability_problem

    problem = asyncio.run(reachability_problem(settings.store))
    if problem is not None:
        raise ConfigError(problem)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and ``python -m server``; returns the exit status."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings.from_env(os.environ)
        if args.command == "token":
            if settings.auth.ephemeral:
                raise ConfigError("Set JWT_SECRET (>= 32 bytes) to mint tokens the server will accept")
            print(mint_token(settings.auth, args.sub, admin=args.admin, ttl_seconds=args.ttl))
            return 0
        if args.command == "migrate":
            configure_logging(settings.observability)
            asyncio.run(_migrate(settings))
            return 0
        processes = _process_count(args.processes, settings)
        _check_store(settings)
    except (ConfigError, ValueError) as problem:
        print(f"configuration error: {problem}", file=sys.stderr)
        return 2
    port = args.port or settings.port
    try:  # bound before anything starts, so a busy port is a one-line error, not a traceback
        sockets = tornado.netutil.bind_sockets(port, settings.host, backlog=LISTEN_BACKLOG)
    except OSError as problem:
        print(f"configuration error: cannot listen on {settings.host}:{port}: {problem.strerror} "
              "(set PORT or --port to a free port)", file=sys.stderr)
        return 2
    worker = 0
    if processes > 1:
        from server.prefork import fork_workers

        index = fork_workers(processes)
        if index is None:
            _exit_now()  # the parent: every worker has exited
        worker = index
    configure_logging(settings.observability, worker=worker if processes > 1 else None)
    try:
        asyncio.run(serve(settings, sockets, worker=worker))
    except ConfigError as problem:  # raised before listening: database unreachable, schema not current
        print(f"configuration error: {problem}", file=sys.stderr)
        return 2
    if processes > 1:
        _exit_now()
    return 0


def _exit_now() -> NoReturn:
    """End a pre-fork parent or worker with status 0 at once, skipping the interpreter's teardown:
    all it holds is closed by then, and the teardown (module cleanup, a garbage collection of the
    whole heap) took up to 1 s in the parent on a busy host, pushing its exit past
    ``SHUTDOWN_GRACE_SECONDS``; Heroku's SIGKILL comes right after the grace."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


async def _migrate(settings: Settings) -> None:
    """``python -m server migrate``: bring the case database to the newest schema revision.

    Raises:
        ConfigError: the database is unreachable (named by its masked URL) or newer than this server.
    """
    from server.cases.migrate import head_revision
    from server.cases.sql import SqlCaseRepository

    repository = SqlCaseRepository(settings.cases.url, pool_size=1,
                                   statement_timeout_seconds=settings.cases.db_statement_timeout_seconds)
    try:
        await repository.open()  # connects, migrates, names DATABASE_URL (masked) when unreachable
    finally:
        await repository.aclose()
    log.info("case database %s is at schema revision %s", repository.masked_url, head_revision())


async def serve(settings: Settings, sockets: list[socket.socket], *, worker: int = 0) -> None:
    """Run the server until SIGTERM/SIGINT, then shut down gracefully; a second signal exits at once.

    ``worker`` is the pre-fork worker's index (0 when one process serves): only worker 0 prints the
    development tokens, so N workers print them once (they share the parent's secret).

    Shutdown: new jobs get 503 with ``Retry-After``, open long-polls and streams answer at once,
    running jobs get ``SHUTDOWN_GRACE_SECONDS`` less a closing reserve (at most 3 s, a fifth of the
    grace) and are then interrupted, the listener stops, in-flight answers are written, the
    registered closers run (provider clients, database) in what is left, and the process exits 0
    within ``SHUTDOWN_GRACE_SECONDS`` of the signal.
    """
    # Imported here: the LLM SDKs take seconds to import, and config errors should not wait for them.
    from server.app import build_services, close_services, make_app, start_background, startup, stop_jobs
    from server.limits import connection_cap, listen_limited

    services = build_services(settings)
    await startup(services)
    app = make_app(services)
    # Everything imported and built so far lives as long as the process (modules, the app, the job store's
    # own tables): keep it out of every garbage collection, including the one at exit, which otherwise
    # takes seconds on a busy host and eats into the grace. After start-up, not before: the store's
    # tables of 100,000 jobs would otherwise be walked by every full collection (issue 19).
    gc.freeze()
    limits = settings.connections
    cap, descriptors = connection_cap(limits.max_connections, limits.fd_reserve)
    if limits.max_connections is not None and cap < limits.max_connections:
        log.warning("MAX_CONNECTIONS=%d lowered to %d: RLIMIT_NOFILE is %d and FD_RESERVE %d",
                    limits.max_connections, cap, descriptors, limits.fd_reserve)
    # No ``xheaders``: nothing reads the client's address or scheme (the access line logs neither, /dev/tokens
    # reads the socket's peer), and Tornado's X-Forwarded-For parsing costs a getaddrinfo per request (issue 19).
    http = listen_limited(services, app, sockets, max_connections=cap)
    start_background(services)
    port = sockets[0].getsockname()[1]
    log.info("listening on http://%s:%d (%s) max_connections=%d", settings.host, port,
             "production" if settings.production else "dev", cap)
    store = settings.store
    log.info("job store: %s", "memory (this process only)" if store.url == "memory://"
             else f"{masked_url(store.url)} from {store.source}, prefix {store.prefix}")
    if not settings.production:
        providers = services.describe_providers() if services.describe_providers is not None else {}
        log.warning("development mode: %s; set APP_ENV=production on every deployment",
                    ", ".join(_development_traits(settings, providers)))
    if settings.auth.ephemeral and worker == 0:
        _print_dev_tokens(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, stop)
    await stop.wait()
    signalled = loop.time()
    grace = services.settings.jobs.shutdown_grace_seconds
    reserve = min(CLOSING_RESERVE_SECONDS, grace / 5)
    log.info("shutting down: no new jobs; running jobs=%d get up to %.1fs", services.runner.running_count(),
             grace - reserve)
    await stop_jobs(services, grace - reserve)
    http.stop()
    step = reserve / 3
    if not await services.requests.wait_idle(step):
        log.warning("shutdown: %d requests still in flight", services.requests.count)
    try:
        await asyncio.wait_for(http.close_all_connections(), step)
    except asyncio.TimeoutError:
        log.warning("shutdown: some connections did not close in time")
    await close_services(services, max(step, signalled + grace - loop.time()))
    log.info("shutdown complete in %.2fs", loop.time() - signalled)


def _development_traits(settings: Settings, providers: dict[str, dict[str, str]]) -> list[str]:
    """What development mode changes in this run (for the start-up warning)."""
    traits = ["ephemeral secret"] if settings.auth.ephemeral else []
    traits.append("demo data")
    if any(provider["provider"] == "offline" for provider in providers.values()):
        traits.append("offline analyzer")
    return traits


def _on_signal(stop: asyncio.Event) -> None:
    if stop.is_set():
        log.warning("second signal: exiting now")
        os._exit(1)
    stop.set()


def _print_dev_tokens(settings: Settings) -> None:
    user = mint_token(settings.auth, "dev-user", ttl_seconds=DEV_TOKEN_TTL_SECONDS)
    admin = mint_token(settings.auth, "dev-admin", admin=True, ttl_seconds=DEV_TOKEN_TTL_SECONDS)
    print("\n=== DEVELOPMENT ONLY: ephemeral JWT secret; these tokens die with this process "
          f"(or after {DEV_TOKEN_TTL_SECONDS // 3600} h) ===\n"
          f"user  (dev-user):  {user}\nadmin (dev-admin): {admin}\n"
          "=== set JWT_SECRET (>= 32 bytes) and APP_ENV=production for real use ===\n", flush=True)


if __name__ == "__main__":
    sys.exit(main())
