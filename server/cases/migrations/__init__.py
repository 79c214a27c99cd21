"""Alembic migrations of the case database; run them with ``python -m server migrate``."""
