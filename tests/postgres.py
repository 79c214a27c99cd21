"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` from the installed binaries,
in a temporary directory, on a free loopback port, stopped and deleted at the end.

Run as root (as in CI containers), the server runs as the unprivileged ``postgres`` user (PostgreSQL
refuses to run as root). Durability is switched off (``fsync=off``): the data is thrown away anyway.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

BIN_DIR = os.environ.get("POSTGRES_BIN_DIR", "/usr/lib/postgresql/15/bin")
INSTALL_HINT = ("PostgreSQL server binaries not found in /usr/lib/postgresql/15/bin (set POSTGRES_BIN_DIR): "
                "apt-get install postgresql")
SUPERUSER = "postgres"


def binaries_available() -> bool:
    """True when initdb, pg_ctl and psql are installed in ``BIN_DIR``."""
    return all(os.access(os.path.join(BIN_DIR, name), os.X_OK) for name in ("initdb", "pg_ctl", "psql"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster: ``start``, ``stop``, ``restart`` (same port and data), ``create_database``,
    ``url``. Databases are created from a template database, ``cases_template`` if it exists."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable  # True keeps PostgreSQL's default fsync/synchronous_commit (benchmarks)
        self.root = tempfile.mkdtemp(prefix="cases-pg-")
        self.data_dir = os.path.join(self.root, "data")
        self.log_file = os.path.join(self.root, "server.log")
        self.port = _free_port()
        self._started = False  # once started, clients know the port: a restart comes back on it
        self._names = itertools.count(1)
        self._run_as: pwd.struct_passwd | None = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self._run_as is not None:
            os.chown(self.root, self._run_as.pw_uid, self._run_as.pw_gid)

    def _run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [os.path.join(BIN_DIR, args[0]), *args[1:]]
        if self._run_as is not None:
            command = ["runuser", "-u", self._run_as.pw_name, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout,  # noqa: S603
                              check=check, cwd=self.root)

    def initdb(self) -> PostgresServer:
        """Create the cluster (UTF-8, C collation, trust authentication on loopback)."""
        self._run("initdb", "-D", self.data_dir, "-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--auth=trust",
                  "--no-sync")
        return self

    def start(self) -> PostgresServer:
        """Start the server and wait until it accepts connections.

        The port was free when it was picked, but another process (another xdist worker, another
        test run on the machine) may bind it before the postmaster does ("could not bind ...
        Address already in use"): the first start then moves to a fresh port. A restart stays on
        its port (clients know it), so there that is an error.
        """
        for _ in range(5):
            logged = os.path.getsize(self.log_file) if os.path.exists(self.log_file) else 0
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
                       "-c max_connections=200")
            if not self.durable:
                options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            done = self._run("pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-o", options, "-w", "-t", "60",
                             "start", check=False)
            if done.returncode == 0:
                self._started = True
                return self
            if self._started or b"Address already in use" not in self._logged_since(logged):
                break
            self.port = _free_port()
        raise RuntimeError(f"pg_ctl start failed on 127.0.0.1:{self.port} (exit {done.returncode}): "
                           f"{done.stderr.strip()[-1000:]}\n{self._logged_since(logged).decode(errors='replace')[-2000:]}")

    def _logged_since(self, logged: int) -> bytes:
        """This start's server log (what follows byte ``logged``); empty when pg_ctl failed before the
        postmaster wrote one (no cluster, say): that failure must be reported, not a missing log."""
        try:
            with open(self.log_file, "rb") as log:
                log.seek(logged)
                return log.read()
        except FileNotFoundError:
            return b""

    def stop(self, mode: str = "fast") -> None:
        """Stop the server now (``fast``: open sessions are cut; ``immediate``: no shutdown checkpoint)."""
        self._run("pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        """Start it again on the same port with the same data."""
        self.start()

    def cleanup(self) -> None:
        """Stop the server and delete its directory (no checkpoint: the data is thrown away)."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with psql as the superuser; returns its unaligned output."""
        done = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database,
                         "-v", "ON_ERROR_STOP=1", "-At", "-c", sql)
        return done.stdout.strip()

    def create_database(self, template: str = "template0") -> str:
        """A new empty database (a copy of ``template``); returns its name."""
        name = f"cases_{os.getpid()}_{next(self._names)}"
        # FILE_COPY copies the template's files; PostgreSQL 15's default writes every page to the WAL.
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY = FILE_COPY')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, cutting any session still on it."""
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres", "-c",
                  f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', check=False)

    def url(self, database: str, scheme: str = "postgresql+asyncpg") -> str:
        """SQLAlchemy URL of ``database`` (no password: trust authentication)."""
        return f"{scheme}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"
