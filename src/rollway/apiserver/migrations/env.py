"""Alembic environment: runs on the connection `migrate.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from rollway.apiserver.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters tables by copying them; Alembic's batch mode does that.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
