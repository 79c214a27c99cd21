"""Alembic revisions, oldest first by their ``down_revision`` chain; never edit a released one."""
