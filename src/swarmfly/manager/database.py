"""The manager's database: engines, sessions, migrations, and where SQLAlchemy's errors stop.

SQLite (the default, ``<dataDir>/manager.db``) runs in WAL mode, so reads never wait for a
writer: a Harbor poll must not fail because a scheduler is writing. Writes go through one
connection that opens its transactions with ``BEGIN IMMEDIATE``: in-process writers queue for
that connection instead of failing with "database is locked", and other processes (the token
CLI) wait on ``busy_timeout``. PostgreSQL (a ``postgresql://`` DSN) uses one pooled engine.

Every session is opened through :meth:`Database.read` or :meth:`Database.write`, which
translate SQLAlchemy's and the drivers' errors into ``DatabaseUnavailable`` (``Conflict`` for
a broken unique constraint): nothing above the repositories sees a SQLAlchemy exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from swarmfly.config import ConfigError, ManagerServiceConfig
from swarmfly.errors import Conflict
from swarmfly.manager.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest migration's revision (a test checks it is alembic's head): a database already
#: there is used without loading alembic at all, which keeps the token CLI quick.
HEAD_REVISION = "0001"
#: Seconds a SQLite writer from another process waits for the write lock.
SQLITE_BUSY_TIMEOUT_MS = 15_000
#: Seconds a request waits for a pooled connection before giving up.
POOL_TIMEOUT = 60.0
#: Execution option of SQLite read sessions that need no snapshot (see ``Database.read``).
_ONE_STATEMENT = "swarmfly_one_statement"


def database_url(config: ManagerServiceConfig) -> URL:
    """The async driver URL for ``database.dsn`` (empty: SQLite under ``dataDir``)."""
    dsn = config.database.dsn.get_secret_value()
    if not dsn:
        return URL.create("sqlite+aiosqlite", database=str(config.data_dir / "manager.db"))
    try:
        url = make_url(dsn)
    except ArgumentError as exc:
        raise ConfigError(f"database.dsn: not a database URL: {exc}") from exc
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    raise ConfigError(f"database.dsn: {backend!r} is not supported (postgresql or sqlite)")


def redacted_dsn(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _first_line(exc: SQLAlchemyError) -> str:
    """What went wrong, without the statement or its parameters (they may hold secrets)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"


@contextmanager
def translate_db_errors() -> Iterator[None]:
    """SQLAlchemy's and the drivers' failures as our categories, most specific first."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"the change clashes with what is stored: {_first_line(exc)}") from exc
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"the database failed: {_first_line(exc)}") from exc
    except OSError as exc:  # asyncpg's refused or reset connections
        raise DatabaseUnavailable(f"cannot reach the database: {exc}") from exc


def _sqlite_engine(url: URL, *, writer: bool) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=1 if writer else 8,
        max_overflow=0 if writer else 8,
        pool_timeout=POOL_TIMEOUT,
        hide_parameters=True,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "foreign_keys=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if writer:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif not connection.get_execution_options().get(_ONE_STATEMENT, False):
            connection.exec_driver_sql("BEGIN")

    return engine


def _revision(connection: Connection) -> str | None:
    if not connection.dialect.has_table(connection, "alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _upgrade(connection: Connection) -> None:
    if _revision(connection) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class Database:
    """Sessions for reading and for writing; build it with :meth:`open`."""

    def __init__(self, url: URL, reader: AsyncEngine, writer: AsyncEngine) -> None:
        self.url = url
        self._reader = async_sessionmaker(reader, expire_on_commit=False)
        self._one_statement_reader = async_sessionmaker(
            reader.execution_options(**{_ONE_STATEMENT: True}), expire_on_commit=False
        )
        self._writer = async_sessionmaker(writer, expire_on_commit=False)
        self._engines = (reader,) if reader is writer else (reader, writer)

    @classmethod
    @asynccontextmanager
    async def open(
        cls, config: ManagerServiceConfig, *, migrate: bool = True
    ) -> AsyncIterator[Database]:
        """Connect (creating ``dataDir`` for SQLite), upgrade the schema to head, and close
        every engine when the block exits."""
        url = database_url(config)
        if url.get_backend_name() == "sqlite":
            await asyncio.to_thread(config.data_dir.mkdir, 0o700, parents=True, exist_ok=True)
            reader = _sqlite_engine(url, writer=False)
            writer = _sqlite_engine(url, writer=True)
        else:
            pool_size = config.database.pool_size
            reader = writer = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_timeout=POOL_TIMEOUT,
                pool_pre_ping=True,
                hide_parameters=True,
            )
        database = cls(url, reader, writer)
        try:
            if migrate:
                await database.migrate()
            yield database
        finally:
            for engine in database._engines:
                await engine.dispose()

    async def migrate(self) -> None:
        """``alembic upgrade head``, in one transaction on the writing connection."""
        with translate_db_errors():
            async with self._engines[-1].begin() as connection:
                await connection.run_sync(_upgrade)
        logger.info("database schema up to date", extra={"database": redacted_dsn(self.url)})

    @asynccontextmanager
    async def read(self, *, one_statement: bool = False) -> AsyncIterator[AsyncSession]:
        """A session for reads (SQLite: a snapshot that never waits for writers).

        ``one_statement``: the session runs a single statement, which SQLite makes atomic by
        itself, so no transaction is begun (and none rolled back): two fewer round trips to
        the database thread on the Open API's busiest reads (a token check, a job poll). A
        second statement in such a session may see a later state than the first.
        """
        sessions = self._one_statement_reader if one_statement else self._reader
        with translate_db_errors():
            async with sessions() as session:
                yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed when the block exits cleanly."""
        with translate_db_errors():
            async with self._writer() as session, session.begin():
                yield session
