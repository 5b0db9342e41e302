"""Alembic's environment for the manager: run on the connection the manager hands over
(``Database.migrate``); there is no alembic.ini and no offline mode."""

from __future__ import annotations

from alembic import context

from swarmfly.manager.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
