from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from swarmfly.config import StorageConfig
from swarmfly.digests import piece_digest
from swarmfly.errors import InvalidInput
from swarmfly.storage import (
    InvalidPiece,
    PieceCorrupt,
    PieceNotFound,
    PieceStore,
    TaskIncomplete,
    TaskInUse,
    TaskNotFound,
    TaskNotRunning,
    TaskState,
)

from .sample import KIB, FakeClock, content, numbers, split, start_task, task_id, write_task

TID = task_id("store")
PIECE = 64 * KIB


async def test_pieces_round_trip_and_finish(store: PieceStore) -> None:
    data = content("round trip", 3 * PIECE + 100)
    task = await write_task(store, TID, data, PIECE)
    assert task.state is TaskState.SUCCEEDED
    assert task.piece_count == 4
    pieces = await store.pieces(TID)
    assert numbers(pieces) == [0, 1, 2, 3]
    assert [p.digest for p in pieces] == [piece_digest(p) for p in split(data, PIECE)]
    assert await store.read_piece(TID, 3) == data[3 * PIECE :]
    assert await store.hash_content(TID, "sha256") == hashlib.sha256(data).hexdigest()
    with await store.open_content(TID) as file:
        assert file.read() == data


async def test_a_piece_with_the_wrong_digest_is_refused_before_it_is_written(
    store: PieceStore,
) -> None:
    data = content("peer", PIECE)
    await start_task(
        store, TID, content_length=PIECE, piece_length=PIECE, url="https://example.com/p"
    )
    with pytest.raises(PieceCorrupt):
        await store.write_piece(TID, 0, 0, data, expected_digest=piece_digest(b"other"))
    assert await store.pieces(TID) == []
    assert store.content_path(TID).read_bytes() == bytes(PIECE)
    piece = await store.write_piece(TID, 0, 0, data, expected_digest=piece_digest(data).upper())
    assert piece.digest == piece_digest(data)


@pytest.mark.parametrize(
    ("number", "offset", "size"), [(0, 1, PIECE), (1, PIECE, 5), (2, 2 * PIECE, 1)]
)
async def test_a_piece_that_does_not_fit_is_refused(
    store: PieceStore, number: int, offset: int, size: int
) -> None:
    await start_task(
        store, TID, content_length=PIECE + 10, piece_length=PIECE, url="https://example.com/p"
    )
    with pytest.raises(InvalidPiece):
        await store.write_piece(TID, number, offset, bytes(size))


async def test_finish_refuses_while_pieces_are_missing(store: PieceStore) -> None:
    data = content("missing", 3 * PIECE)
    await write_task(store, TID, data, PIECE, numbers=[0, 2], finish=False)
    with pytest.raises(TaskIncomplete):
        await store.finish_task(TID)
    assert (await store.get_task(TID)).state is TaskState.RUNNING  # type: ignore[union-attr]
    await store.write_piece(TID, 1, PIECE, data[PIECE : 2 * PIECE])
    assert (await store.finish_task(TID)).state is TaskState.SUCCEEDED


async def test_a_task_of_unknown_length_finishes_once_the_length_is_set(store: PieceStore) -> None:
    data = content("unknown", PIECE + 7)
    await start_task(
        store, TID, content_length=None, piece_length=PIECE, url="https://example.com/u"
    )
    await store.write_piece(TID, 0, 0, data[:PIECE])
    await store.write_piece(TID, 1, PIECE, data[PIECE:])
    with pytest.raises(TaskIncomplete):
        await store.finish_task(TID)
    task = await store.set_content_length(TID, len(data))
    assert (task.content_length, task.size_on_disk) == (len(data), len(data))
    assert (await store.finish_task(TID)).state is TaskState.SUCCEEDED
    assert await store.hash_content(TID, "sha256") == hashlib.sha256(data).hexdigest()


async def test_a_running_task_resumes_with_its_pieces(store: PieceStore, clock: FakeClock) -> None:
    data = content("resume", 3 * PIECE)
    first = await write_task(store, TID, data, PIECE, numbers=[0, 1], finish=False)
    clock.advance(60)
    again = await start_task(
        store, TID, content_length=len(data), piece_length=PIECE, url="https://mirror.example.com/r"
    )
    assert again.state is TaskState.RUNNING
    assert again.created_at == first.created_at
    assert again.url == "https://mirror.example.com/r"
    assert numbers(await store.pieces(TID)) == [0, 1]
    await store.write_piece(TID, 2, 2 * PIECE, data[2 * PIECE :])
    assert (await store.finish_task(TID)).state is TaskState.SUCCEEDED


async def test_a_resumed_task_with_another_layout_starts_over(store: PieceStore) -> None:
    data = content("layout", 3 * PIECE)
    await write_task(store, TID, data, PIECE, numbers=[0, 1], finish=False)
    with await store.open_content(TID) as reader:  # e.g. a sendfile in progress
        task = await start_task(
            store, TID, content_length=4 * PIECE, piece_length=2 * PIECE, url="https://x.test/l"
        )
        assert reader.read(2 * PIECE) == data[: 2 * PIECE]  # it keeps the bytes it opened
    assert (task.state, task.content_length, task.piece_length) == (
        TaskState.RUNNING,
        4 * PIECE,
        2 * PIECE,
    )
    assert await store.pieces(TID) == []
    assert store.content_path(TID).read_bytes() == bytes(4 * PIECE)


async def test_an_empty_task_has_one_empty_piece(store: PieceStore) -> None:
    await start_task(store, TID, content_length=0, piece_length=PIECE)
    with pytest.raises(TaskIncomplete):
        await store.finish_task(TID)
    piece = await store.write_piece(TID, 0, 0, b"")
    assert (piece.length, piece.digest) == (0, piece_digest(b""))
    assert (await store.finish_task(TID)).state is TaskState.SUCCEEDED
    assert await store.read_piece(TID, 0) == b""
    assert await store.hash_content(TID, "sha256") == hashlib.sha256(b"").hexdigest()


async def test_create_returns_a_succeeded_task_unchanged(store: PieceStore) -> None:
    done = await write_task(store, TID, content("done", PIECE), PIECE)
    again = await start_task(
        store, TID, content_length=PIECE, piece_length=PIECE, url="https://example.com/other"
    )
    assert again == done


async def test_fail_removes_content_and_pieces(store: PieceStore) -> None:
    await write_task(store, TID, content("fail", 2 * PIECE), PIECE, numbers=[0], finish=False)
    await store.fail_task(TID)
    task = await store.get_task(TID)
    assert task is not None
    assert (task.state, task.size_on_disk) == (TaskState.FAILED, 0)
    assert not store.content_path(TID).exists()
    assert await store.pieces(TID) == []
    with pytest.raises(TaskNotRunning):
        await store.write_piece(TID, 1, PIECE, bytes(PIECE))
    await store.fail_task(task_id("never created"))  # a no-op, so cleanup paths can call it
    resumed = await write_task(store, TID, content("fail", 2 * PIECE), PIECE)
    assert resumed.state is TaskState.SUCCEEDED


@pytest.mark.parametrize("bad", ["../x", "../" + "a" * 61, "A" * 64, "g" * 64, "a" * 63, ""])
async def test_task_ids_that_are_not_hex_digests_are_rejected(store: PieceStore, bad: str) -> None:
    with pytest.raises(InvalidInput):
        store.content_path(bad)
    with pytest.raises(InvalidInput):
        await store.get_task(bad)
    with pytest.raises(InvalidInput):
        await start_task(store, bad, content_length=1, piece_length=1, url="https://example.com/x")
    with pytest.raises(InvalidInput):
        async with store.ingest(bad, 0, lambda piece: None):
            pass
    assert list(store.root.rglob("*x*")) == []


async def test_a_task_in_use_cannot_be_deleted(store: PieceStore) -> None:
    await write_task(store, TID, content("use", PIECE), PIECE)
    with store.use(TID), store.use(TID):
        assert store.in_use(TID)
        with pytest.raises(TaskInUse):
            await store.delete_task(TID)
    assert not store.in_use(TID)
    await store.delete_task(TID)
    assert await store.get_task(TID) is None
    assert not store.content_path(TID).exists()
    with pytest.raises(TaskNotFound):
        await store.delete_task(TID)


async def test_touch_and_accounting(store: PieceStore, clock: FakeClock) -> None:
    await write_task(store, TID, content("a", PIECE), PIECE)
    await write_task(store, task_id("b"), content("b", 3 * PIECE), PIECE)
    clock.advance(30)
    await store.touch(TID)
    assert (await store.get_task(TID)).last_access_at == clock.now  # type: ignore[union-attr]
    assert await store.content_bytes() == 4 * PIECE
    assert sorted(t.id for t in await store.tasks()) == sorted([TID, task_id("b")])
    await store.touch(task_id("nobody"))  # gone already (evicted): nothing to record
    assert await store.get_task(task_id("nobody")) is None


async def test_a_finished_file_written_behind_the_stores_back_is_never_served(
    store: PieceStore,
) -> None:
    data = content("rot", 2 * PIECE)
    await write_task(store, TID, data, PIECE)
    with store.content_path(TID).open("r+b") as file:
        file.seek(PIECE + 5)
        file.write(b"\x00\x01\x02")
    # The seal (inode, size, ctime) is broken: the store lets go of the file entirely.
    with pytest.raises(PieceNotFound):
        await store.read_piece(TID, 1)
    assert numbers(await store.pieces(TID)) == []
    assert (await store.get_task(TID)).state is TaskState.RUNNING  # type: ignore[union-attr]


async def test_a_piece_that_rots_unnoticed_by_the_seal_is_dropped_on_read(
    store: PieceStore,
) -> None:
    data = content("rot", 2 * PIECE)
    await write_task(store, TID, data, PIECE, finish=False)
    with store.content_path(TID).open("r+b") as file:
        file.seek(PIECE + 5)
        file.write(b"\x00\x01\x02")
    with pytest.raises(PieceCorrupt):
        await store.read_piece(TID, 1)
    assert numbers(await store.pieces(TID)) == [0]


async def test_a_hard_link_shares_the_content_and_a_write_through_it_is_caught(
    store: PieceStore, tmp_path: Path
) -> None:
    data = content("link", 2 * PIECE)
    await write_task(store, TID, data, PIECE)
    linked = tmp_path / "user-copy"
    await store.link_content(TID, linked)
    assert linked.read_bytes() == data
    assert linked.stat().st_ino == store.content_path(TID).stat().st_ino
    assert linked.stat().st_mode & 0o777 == 0o444
    assert numbers(await store.pieces(TID)) == [0, 1], "linking alone breaks no seal"
    with linked.open("r+b") as file:  # root ignores the read-only mode
        file.write(b"mine")
    assert numbers(await store.pieces(TID)) == []
    assert linked.read_bytes()[:4] == b"mine", "the user's file keeps what they wrote"
    assert not store.content_path(TID).exists()


async def test_unknown_tasks_and_pieces(store: PieceStore) -> None:
    assert await store.get_task(TID) is None
    with pytest.raises(TaskNotFound):
        await store.pieces(TID)
    with pytest.raises(TaskNotFound):
        await store.open_content(TID)
    await write_task(store, TID, content("u", 2 * PIECE), PIECE, numbers=[0], finish=False)
    with pytest.raises(PieceNotFound):
        await store.read_piece(TID, 1)
    with pytest.raises(InvalidInput):
        await store.hash_content(TID, "not-a-hash")


async def test_concurrent_writers_of_different_pieces(config: StorageConfig) -> None:
    data = content("concurrent", 8 * PIECE)
    async with PieceStore.open(config.model_copy(update={"fsync": True})) as store:
        await start_task(
            store, TID, content_length=len(data), piece_length=PIECE, url="https://example.com/c"
        )
        pieces = split(data, PIECE)
        await asyncio.gather(
            *(store.write_piece(TID, n, n * PIECE, piece) for n, piece in enumerate(pieces))
        )
        assert (await store.finish_task(TID)).state is TaskState.SUCCEEDED
        assert await store.hash_content(TID, "sha256") == hashlib.sha256(data).hexdigest()
