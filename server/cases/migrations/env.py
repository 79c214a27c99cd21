"""Alembic environment: migrations run on the connection ``server.cases.migrate`` hands over
(``config.attributes["connection"]``), inside its transaction; there is no ini file and no
offline (SQL script) mode."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
# No batch mode: on SQLite it copies and drops a table, and dropping ``cases`` would cascade to
# every document (foreign keys are on). Revisions use plain ALTER TABLE statements both databases run.
context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()
