"""Alembic environment: runs on the connection botcraft.migrate hands over."""

from __future__ import annotations

from alembic import context

from botcraft.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `botcraft migrate` (it supplies the connection).")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
