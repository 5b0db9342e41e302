from __future__ import annotations

import errno
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from swarmfly.digests import piece_digest
from swarmfly.storage import StoreFull, StoreUnavailable, TaskNotFound
from swarmfly.storage.content import ContentFiles, translated_os_errors
from swarmfly.storage.records import PieceRecord

from .sample import content, task_id

TID = task_id("content")


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[ContentFiles]:
    files = ContentFiles(tmp_path, fsync=True)
    await files.make_dir()
    yield files
    await files.close()


def test_one_file_per_task_sharded_by_prefix(tmp_path: Path) -> None:
    files = ContentFiles(tmp_path, fsync=False)
    assert files.path(TID) == tmp_path / "content" / TID[:3] / TID


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.ENOSPC, StoreFull),
        (errno.EDQUOT, StoreFull),
        (errno.ENOENT, TaskNotFound),
        (errno.EIO, StoreUnavailable),
    ],
)
def test_os_errors_are_translated(code: int, expected: type[Exception]) -> None:
    with pytest.raises(expected) as caught, translated_os_errors("task x"):
        raise OSError(code, os.strerror(code))
    assert isinstance(caught.value.__cause__, OSError)


async def test_allocate_reserves_the_whole_length(files: ContentFiles) -> None:
    assert await files.allocate(TID, 256 * 1024) is True
    stat = files.path(TID).stat()
    assert stat.st_size == 256 * 1024
    assert stat.st_blocks * 512 >= 256 * 1024
    assert await files.allocate(TID, 256 * 1024) is False


async def test_writes_never_create_a_file(files: ContentFiles) -> None:
    with pytest.raises(TaskNotFound):
        await files.write_piece(TID, 0, b"late writer", None)
    with pytest.raises(TaskNotFound):
        await files.open_fd(TID)
    assert not files.path(TID).exists()


async def test_verify_names_the_pieces_that_do_not_match(files: ContentFiles) -> None:
    data = content("verify", 3000)
    await files.allocate(TID, len(data))
    await files.write_piece(TID, 0, data, None)
    pieces = [
        PieceRecord(TID, n, n * 1000, 1000, piece_digest(data[n * 1000 : (n + 1) * 1000]))
        for n in range(3)
    ]
    assert await files.verify(TID, pieces) == []
    await files.write_piece(TID, 1500, b"\x00\xff", None)
    assert await files.verify(TID, pieces) == [1]
    await files.remove(TID)
    assert await files.verify(TID, pieces) == [0, 1, 2]
