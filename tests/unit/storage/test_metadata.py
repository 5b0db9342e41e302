from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from swarmfly.storage import StoreFull, StoreUnavailable, TaskNotFound, TaskRecord, TaskState
from swarmfly.storage.metadata import MetadataDB, translate_sqlite_error

from .sample import task_id


def _full_error() -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError("database or disk is full")
    exc.sqlite_errorcode = sqlite3.SQLITE_FULL
    return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_full_error(), StoreFull),
        (sqlite3.OperationalError("database or disk is full"), StoreFull),
        (sqlite3.OperationalError("database is locked"), StoreUnavailable),
        (sqlite3.DatabaseError("file is not a database"), StoreUnavailable),
        (sqlite3.IntegrityError("FOREIGN KEY constraint failed"), StoreUnavailable),
    ],
)
def test_translate_sqlite_error(exc: sqlite3.Error, expected: type[Exception]) -> None:
    assert type(translate_sqlite_error(exc)) is expected


def _record(tid: str) -> TaskRecord:
    return TaskRecord(tid, "https://example.com/x", 10, 4, None, TaskState.RUNNING, 1, 1, 1, 10)


async def test_operations_run_in_the_database_thread(tmp_path: Path) -> None:
    db = MetadataDB(tmp_path / "metadata.db")
    await db.open()
    try:
        tid = task_id("one")
        await db.put_task(_record(tid))
        assert await db.get_task(tid) == _record(tid)
        assert await db.content_bytes() == 10
        with pytest.raises(TaskNotFound):
            await db.finish_task(task_id("nobody"), now=2)
    finally:
        await db.close()


async def test_an_unreadable_database_is_unavailable_not_a_sqlite_error(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    path.write_bytes(b"this is not a database" * 100)
    db = MetadataDB(path)
    with pytest.raises(StoreUnavailable) as caught:
        await db.open()
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    await db.close()


async def test_an_unopened_database_is_unavailable(tmp_path: Path) -> None:
    db = MetadataDB(tmp_path / "metadata.db")
    with pytest.raises(StoreUnavailable):
        await db.tasks()
    await db.close()
