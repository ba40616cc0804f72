"""Alembic environment: always run on a connection the store hands over (see storage.migrate).

``render_as_batch`` lets ALTER work on SQLite; the transaction (and its lock) belongs to the caller.
"""
from alembic import context

from storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `hive-cli db upgrade` (storage.migrate), not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
