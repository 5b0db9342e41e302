"""The database URL, the schema the migrations make (it must match the models), the first
start's data, and SQLAlchemy's errors stopping at the repositories."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from swarmfly.config import ConfigError, ManagerServiceConfig
from swarmfly.errors import Conflict
from swarmfly.manager.clusters import ClusterStore, NewCluster
from swarmfly.manager.database import (
    HEAD_REVISION,
    MIGRATIONS,
    Database,
    database_url,
    redacted_dsn,
)
from swarmfly.manager.errors import DatabaseUnavailable
from swarmfly.manager.models import Base
from swarmfly.manager.users import UserStore
from tests.support.manager import manager_config


@pytest.mark.parametrize(
    ("dsn", "driver"),
    [
        ("postgresql://u:secret@db:5432/swarmfly", "postgresql+asyncpg"),
        ("postgres://u:secret@db/swarmfly", "postgresql+asyncpg"),
        ("sqlite:////var/lib/m.db", "sqlite+aiosqlite"),
    ],
)
def test_database_url(tmp_path: Path, dsn: str, driver: str) -> None:
    url = database_url(manager_config(tmp_path, dsn))
    assert url.drivername == driver
    assert "secret" not in redacted_dsn(url)


def test_the_default_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    url = database_url(manager_config(tmp_path, ""))
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == str(tmp_path / "data" / "manager.db")
    with pytest.raises(ConfigError, match="database.dsn"):
        database_url(manager_config(tmp_path, "mysql://u@db/x"))


def test_head_revision_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


async def test_the_migrations_make_the_models_schema(database: Database) -> None:
    async with database.read() as session:
        connection = await session.connection()
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert diff == []


async def test_first_start_data_once(database: Database, config: ManagerServiceConfig) -> None:
    users = UserStore(database)
    path = await users.ensure_root(config.data_dir)
    assert path is not None and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    password = path.read_text().strip()
    assert await users.authenticate("root", password) is not None
    assert await users.authenticate("root", password + "x") is None
    assert await users.ensure_root(config.data_dir) is None
    assert path.read_text().strip() == password
    clusters = ClusterStore(database)
    await clusters.ensure_default()
    await clusters.ensure_default()
    views, total = await clusters.page(1, 10)
    assert total == 1 and views[0]["name"] == "cluster-1" and views[0]["is_default"]
    with pytest.raises(Conflict):
        await clusters.create(NewCluster(name="cluster-1"))


async def test_sqlalchemy_errors_become_ours(database: Database) -> None:
    with pytest.raises(DatabaseUnavailable):
        async with database.read() as session:
            await session.execute(text("SELECT * FROM no_such_table"))


async def test_a_read_keeps_one_snapshot_and_a_one_statement_read_holds_none(
    database: Database, backend: str
) -> None:
    count = text("SELECT count(*) FROM scheduler_clusters")
    async with database.read() as snapshot, database.read(one_statement=True) as loose:
        first = await snapshot.scalar(count)
        assert await loose.scalar(count) == first
        await ClusterStore(database).create(NewCluster(name="made-in-between"))
        # No transaction was begun for it: its next statement sees the new row.
        assert await loose.scalar(count) == first + 1
        if backend == "sqlite":
            # BEGIN holds SQLite's snapshot for the whole session (PostgreSQL's default
            # isolation takes a new one per statement either way).
            assert await snapshot.scalar(count) == first
