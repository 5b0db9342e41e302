"""The SQL of the metadata database: schema, and one plain function per operation.

Each function takes the connection and runs on the database thread (see ``metadata.py``).
Operations that write check their preconditions inside the same ``BEGIN IMMEDIATE``
transaction, so a row and the rule that guards it can never disagree. sqlite3 errors pass
through; ``metadata.py`` translates them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from swarmfly.errors import InvalidInput
from swarmfly.storage.errors import (
    InvalidPiece,
    TaskIncomplete,
    TaskNotFound,
    TaskNotRunning,
)
from swarmfly.storage.records import (
    PieceRecord,
    TaskRecord,
    TaskState,
    missing_pieces,
    piece_problem,
)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    content_length INTEGER,
    piece_length INTEGER NOT NULL,
    digest TEXT,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    last_access_at REAL NOT NULL,
    size_on_disk INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pieces (
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    start INTEGER NOT NULL,
    length INTEGER NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (task_id, number)
) WITHOUT ROWID;
"""
_TASK_COLUMNS = (
    "id, url, content_length, piece_length, digest, state,"
    " created_at, updated_at, last_access_at, size_on_disk"
)


def connect(path: str) -> sqlite3.Connection:
    """Open (and if needed create) the database, in WAL mode."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        conn.close()
        raise sqlite3.DatabaseError(f"{path}: schema version {version} is newer than ours")
    conn.executescript(SCHEMA)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return conn


def all_tasks(conn: sqlite3.Connection) -> list[TaskRecord]:
    return [task_row(row) for row in conn.execute(f"SELECT {_TASK_COLUMNS} FROM tasks")]


def content_bytes(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(SUM(size_on_disk), 0) FROM tasks").fetchone()[0])


def pieces(conn: sqlite3.Connection, task_id: str) -> list[PieceRecord]:
    rows = conn.execute("SELECT * FROM pieces WHERE task_id = ? ORDER BY number", (task_id,))
    return [piece_row(row) for row in rows]


def get_piece(conn: sqlite3.Connection, task_id: str, number: int) -> PieceRecord | None:
    query = "SELECT * FROM pieces WHERE task_id = ? AND number = ?"
    row = conn.execute(query, (task_id, number)).fetchone()
    return None if row is None else piece_row(row)


def delete_task(conn: sqlite3.Connection, task_id: str) -> bool:
    return conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,)).rowcount > 0


def touch(conn: sqlite3.Connection, task_id: str, now: float) -> bool:
    query = "UPDATE tasks SET last_access_at = ? WHERE id = ?"
    return conn.execute(query, (now, task_id)).rowcount > 0


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE so that the checks and the write see the same rows."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def task_row(row: sqlite3.Row) -> TaskRecord:
    return TaskRecord(
        id=row["id"],
        url=row["url"],
        content_length=row["content_length"],
        piece_length=row["piece_length"],
        digest=row["digest"],
        state=TaskState(row["state"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_access_at=row["last_access_at"],
        size_on_disk=row["size_on_disk"],
    )


def piece_row(row: sqlite3.Row) -> PieceRecord:
    return PieceRecord(row["task_id"], row["number"], row["start"], row["length"], row["digest"])


def get_task(conn: sqlite3.Connection, task_id: str) -> TaskRecord | None:
    row = conn.execute(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,)).fetchone()
    return None if row is None else task_row(row)


def require_task(conn: sqlite3.Connection, task_id: str) -> TaskRecord:
    task = get_task(conn, task_id)
    if task is None:
        raise TaskNotFound(f"no task {task_id}")
    return task


def drop_misfits(conn: sqlite3.Connection, task: TaskRecord) -> None:
    rows = conn.execute("SELECT * FROM pieces WHERE task_id = ?", (task.id,)).fetchall()
    for piece in map(piece_row, rows):
        if piece_problem(task, piece.number, piece.offset, piece.length) is not None:
            conn.execute(
                "DELETE FROM pieces WHERE task_id = ? AND number = ?", (task.id, piece.number)
            )


def put_task(conn: sqlite3.Connection, task: TaskRecord) -> TaskRecord:
    with transaction(conn):
        conn.execute(
            f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET url = excluded.url,"
            " content_length = excluded.content_length, piece_length = excluded.piece_length,"
            " digest = excluded.digest, state = excluded.state, updated_at = excluded.updated_at,"
            " last_access_at = excluded.last_access_at, size_on_disk = excluded.size_on_disk",
            (
                task.id,
                task.url,
                task.content_length,
                task.piece_length,
                task.digest,
                task.state.value,
                task.created_at,
                task.updated_at,
                task.last_access_at,
                task.size_on_disk,
            ),
        )
        drop_misfits(conn, task)
        return require_task(conn, task.id)


def set_content_length(
    conn: sqlite3.Connection, task_id: str, content_length: int, now: float
) -> TaskRecord:
    with transaction(conn):
        task = require_task(conn, task_id)
        if task.state is not TaskState.RUNNING:
            raise TaskNotRunning(f"task {task_id} is {task.state}, not running")
        if task.content_length not in (None, content_length):
            raise InvalidInput(
                f"task {task_id} is {task.content_length} bytes, not {content_length}"
            )
        conn.execute(
            "UPDATE tasks SET content_length = ?, size_on_disk = ?, updated_at = ? WHERE id = ?",
            (content_length, content_length, now, task_id),
        )
        task = require_task(conn, task_id)
        drop_misfits(conn, task)
        return task


def add_piece(conn: sqlite3.Connection, piece: PieceRecord, now: float) -> PieceRecord:
    with transaction(conn):
        task = require_task(conn, piece.task_id)
        if task.state is not TaskState.RUNNING:
            raise TaskNotRunning(f"task {task.id} is {task.state}, not running")
        problem = piece_problem(task, piece.number, piece.offset, piece.length)
        if problem is not None:
            raise InvalidPiece(problem)
        conn.execute(
            "INSERT OR REPLACE INTO pieces (task_id, number, start, length, digest)"
            " VALUES (?, ?, ?, ?, ?)",
            (piece.task_id, piece.number, piece.offset, piece.length, piece.digest),
        )
        conn.execute(
            "UPDATE tasks SET size_on_disk = MAX(size_on_disk, ?), updated_at = ? WHERE id = ?",
            (piece.offset + piece.length, now, piece.task_id),
        )
    return piece


def drop_pieces(conn: sqlite3.Connection, task_id: str, numbers: Sequence[int], now: float) -> None:
    with transaction(conn):
        conn.executemany(
            "DELETE FROM pieces WHERE task_id = ? AND number = ?",
            [(task_id, number) for number in numbers],
        )
        conn.execute(
            "UPDATE tasks SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
            (TaskState.RUNNING.value, now, task_id, TaskState.SUCCEEDED.value),
        )


def finish_task(conn: sqlite3.Connection, task_id: str, now: float) -> TaskRecord:
    with transaction(conn):
        task = require_task(conn, task_id)
        if task.state is TaskState.SUCCEEDED:
            return task
        if task.state is not TaskState.RUNNING:
            raise TaskNotRunning(f"task {task_id} is {task.state}, not running")
        if task.content_length is None:
            raise TaskIncomplete(f"task {task_id} cannot finish while its length is unknown")
        rows = conn.execute("SELECT number FROM pieces WHERE task_id = ?", (task_id,)).fetchall()
        missing = missing_pieces(task, [row["number"] for row in rows])
        if missing:
            raise TaskIncomplete(f"task {task_id} lacks {len(missing)} pieces, from {missing[0]}")
        conn.execute(
            "UPDATE tasks SET state = ?, updated_at = ?, last_access_at = ? WHERE id = ?",
            (TaskState.SUCCEEDED.value, now, now, task_id),
        )
        return require_task(conn, task_id)


def fail_task(conn: sqlite3.Connection, task_id: str, now: float) -> bool:
    with transaction(conn):
        conn.execute("DELETE FROM pieces WHERE task_id = ?", (task_id,))
        cursor = conn.execute(
            "UPDATE tasks SET state = ?, size_on_disk = 0, updated_at = ? WHERE id = ?",
            (TaskState.FAILED.value, now, task_id),
        )
        return cursor.rowcount > 0
