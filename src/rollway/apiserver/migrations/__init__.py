"""Alembic migrations of the API server's database, applied at startup (`migrate.upgrade`)."""
