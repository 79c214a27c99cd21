"""Schema migrations of the case database with Alembic, run on a connection the repository owns.

``upgrade`` brings a database to the newest revision (creating it when empty, and adopting a
database made by the hand-written SQLite layer, ``PRAGMA user_version`` 1, with its data);
``verify`` only checks, for production, where ``python -m server migrate`` is the one place a
migration runs (so two dynos starting together never race one).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from server.errors import ConfigError

log = logging.getLogger(__name__)

SCRIPT_LOCATION = "server.cases:migrations"
LEGACY_REVISION = "0001"  # the schema of the SQLite layer's user_version 1
_LEGACY_USER_VERSION = 1
_MIGRATE_HINT = "run `python -m server migrate` (with the same DATABASE_URL) before starting the server"
# Any fixed 64-bit number: every process migrating the same PostgreSQL database takes this lock first.
_ADVISORY_LOCK_KEY = 7_014_032_115


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this server knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # noqa: S101  # the package ships its revisions
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The revision the database is at; None when it has no Alembic version table."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: sa.Connection) -> str:
    """Migrate the database on ``connection`` (inside its transaction) to the newest revision.

    Returns:
        the revision it was at before ('' for an empty database).
    Raises:
        ConfigError: the database is at a revision this server does not know (a newer server
            migrated it), or holds tables that are neither ours nor the legacy schema.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    before = _current_known_revision(connection)
    if before is None and _has_legacy_schema(connection):
        command.stamp(_config(connection), LEGACY_REVISION)
        log.info("case database made by the SQLite layer (user_version 1) adopted as revision %s", LEGACY_REVISION)
        before = LEGACY_REVISION
    if before != head_revision():
        command.upgrade(_config(connection), "head")
        log.info("case database migrated from revision %s to %s", before or "(empty)", head_revision())
    return before or ""


def verify(connection: sa.Connection) -> None:
    """Check the database is at the newest revision without changing it.

    Raises:
        ConfigError: empty, out of date or unknown, with a message saying what to run.
    """
    current = _current_known_revision(connection)
    head = head_revision()
    if current is None:
        raise ConfigError(f"the case database has no schema yet; {_MIGRATE_HINT}")
    if current != head:
        raise ConfigError(f"the case database schema is at revision {current}, this server needs {head}; "
                          f"{_MIGRATE_HINT}")


def _current_known_revision(connection: sa.Connection) -> str | None:
    current = current_revision(connection)
    if current is None:
        return None
    script = ScriptDirectory.from_config(_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise ConfigError(f"the case database schema (revision {current}) is newer than this server "
                          f"(knows up to {head_revision()}); upgrade the server or point DATABASE_URL elsewhere")
    return current


def _has_legacy_schema(connection: sa.Connection) -> bool:
    if not sa.inspect(connection).has_table("cases"):
        return False
    if connection.dialect.name == "sqlite":
        version = connection.exec_driver_sql("PRAGMA user_version").scalar()
        if version == _LEGACY_USER_VERSION:
            return True
        raise ConfigError(f"the case database has a 'cases' table but schema version {version}, which this "
                          "server does not know; point DATABASE_URL or CASES_DB at another database")
    raise ConfigError("the case database has a 'cases' table but no Alembic version; it was not made by this "
                      "server, point DATABASE_URL at another database")
