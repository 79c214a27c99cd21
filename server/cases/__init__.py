"""Cases and their documents: storage (SQLite or PostgreSQL), migrations, uploads and text extraction."""

import logging

# Alembic >= 1.17 logs one INFO line per built-in autogenerate plugin when ``alembic.command`` is first
# imported (by ``server.cases.migrate``, after logging is configured); not news here. Set before any
# module of this package imports Alembic, hence here rather than in migrate.py after its imports.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
