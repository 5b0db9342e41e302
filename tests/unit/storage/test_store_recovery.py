"""What the store trusts after a restart: only what it can prove, re-hashed at first touch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from swarmfly.config import StorageConfig
from swarmfly.digests import piece_digest
from swarmfly.storage import PieceNotFound, PieceRecord, PieceStore, TaskState
from swarmfly.storage.content import ContentFiles

from .sample import KIB, content, numbers, split, start_task, task_id, write_task

TID = task_id("recovery")
PIECE = 64 * KIB


def flip(store_config: StorageConfig, tid: str, offset: int) -> None:
    """Corrupt one byte of a task's content file behind the store's back."""
    path = store_config.dir / "content" / tid[:3] / tid
    with path.open("r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0xFF]))


async def test_a_corrupt_piece_is_dropped_at_reopen_and_the_task_runs_again(
    config: StorageConfig,
) -> None:
    data = content("corrupt", 4 * PIECE)
    async with PieceStore.open(config) as store:
        await write_task(store, TID, data, PIECE)
    flip(config, TID, 2 * PIECE + 17)
    async with PieceStore.open(config) as store:
        task = await store.get_task(TID)
        assert task is not None
        assert task.state is TaskState.RUNNING
        pieces = await store.pieces(TID)
        assert numbers(pieces) == [0, 1, 3]
        for piece in pieces:
            assert piece_digest(await store.read_piece(TID, piece.number)) == piece.digest
        with pytest.raises(PieceNotFound):
            await store.read_piece(TID, 2)
        await store.write_piece(TID, 2, 2 * PIECE, split(data, PIECE)[2])
        assert (await store.finish_task(TID)).state is TaskState.SUCCEEDED
    async with PieceStore.open(config) as store:
        assert (await store.get_task(TID)).state is TaskState.SUCCEEDED  # type: ignore[union-attr]


async def test_pieces_is_never_answered_before_the_proof(config: StorageConfig) -> None:
    """pieces() on a task nobody has touched since the restart still proves it first."""
    async with PieceStore.open(config) as store:
        await write_task(store, TID, content("first", 2 * PIECE), PIECE)
    flip(config, TID, 3)
    async with PieceStore.open(config) as store:
        assert numbers(await store.pieces(TID)) == [1]


async def test_a_running_task_keeps_its_proven_pieces_across_a_restart(
    config: StorageConfig,
) -> None:
    data = content("running", 3 * PIECE)
    async with PieceStore.open(config) as store:
        await write_task(store, TID, data, PIECE, numbers=[0, 2], finish=False)
    async with PieceStore.open(config) as store:
        task = await start_task(
            store, TID, content_length=len(data), piece_length=PIECE, url="https://example.com/r"
        )
        assert task.state is TaskState.RUNNING
        assert numbers(await store.pieces(TID)) == [0, 2]


async def test_concurrent_callers_share_one_proof(
    config: StorageConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PieceStore.open(config) as store:
        await write_task(store, TID, content("flight", 3 * PIECE), PIECE)
    proofs: list[str] = []
    real_verify = ContentFiles.verify

    async def counting_verify(
        self: ContentFiles, tid: str, pieces: Sequence[PieceRecord]
    ) -> list[int]:
        proofs.append(tid)
        return await real_verify(self, tid, pieces)

    monkeypatch.setattr(ContentFiles, "verify", counting_verify)
    async with PieceStore.open(config) as store:
        results = await asyncio.gather(
            *(store.get_task(TID) for _ in range(5)), store.pieces(TID), store.read_piece(TID, 0)
        )
        assert all(task.state is TaskState.SUCCEEDED for task in results[:5])  # type: ignore[union-attr]
        assert proofs == [TID]
        await store.get_task(TID)
        assert proofs == [TID]


async def test_a_task_created_in_this_process_needs_no_proof(
    store: PieceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_verify(self: ContentFiles, tid: str, pieces: Sequence[PieceRecord]) -> list[int]:
        raise AssertionError("a task written by this process was re-hashed")

    monkeypatch.setattr(ContentFiles, "verify", no_verify)
    await write_task(store, TID, content("fresh", 2 * PIECE), PIECE)
    assert numbers(await store.pieces(TID)) == [0, 1]


async def test_content_nobody_describes_is_removed_at_open(config: StorageConfig) -> None:
    async with PieceStore.open(config) as store:
        await write_task(store, TID, content("kept", PIECE), PIECE)
        orphan = store.content_path(task_id("orphan"))
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash before the row was written")
    async with PieceStore.open(config) as store:
        assert not orphan.exists()
        assert store.content_path(TID).exists()


async def test_keep_false_wipes_the_store_at_open(config: StorageConfig) -> None:
    async with PieceStore.open(config) as store:
        await write_task(store, TID, content("wiped", PIECE), PIECE)
    (config.dir / "unrelated").write_text("the daemon's other files are not ours")
    async with PieceStore.open(config.model_copy(update={"keep": False})) as store:
        assert await store.tasks() == []
        assert not store.content_path(TID).exists()
    assert (config.dir / "unrelated").exists()
