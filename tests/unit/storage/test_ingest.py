"""The store's sink for bytes that arrive in order: pieces cut at the right places, recorded
only when asked, and nothing past the task's end."""

from __future__ import annotations

import asyncio
import random

import pytest

from swarmfly.digests import piece_digest
from swarmfly.storage import InvalidPiece, PieceRecord, PieceStore, TaskNotRunning, TaskState

from .sample import content, split, start_task, task_id

KIB = 1024
TID = task_id("ingest")


async def pump(
    store: PieceStore, data: bytes, runs: list[int], first_piece: int = 0
) -> list[PieceRecord]:
    """Write ``data`` into the sink in runs of the given sizes, on a thread as the pump does."""
    landed: list[PieceRecord] = []
    async with store.ingest(TID, first_piece, landed.append) as sink:

        def write_all() -> None:
            view = memoryview(data)
            for size in runs:
                part, view = view[:size], view[size:]
                sink.write(part)
            assert not view

        await asyncio.to_thread(write_all)
        sink.finish()
    return landed


@pytest.mark.parametrize("length", [10 * KIB, 10 * KIB + 1, 10 * KIB - 1])
async def test_pieces_are_cut_at_their_boundaries_whatever_the_runs(
    store: PieceStore, length: int
) -> None:
    data = content("runs", length)
    await start_task(store, TID, content_length=length, piece_length=4 * KIB)
    rng = random.Random(length)
    runs: list[int] = []
    while sum(runs) < length:
        runs.append(min(rng.randint(1, 3 * KIB), length - sum(runs)))
    landed = await pump(store, data, runs)
    expected = split(data, 4 * KIB)
    assert [piece.number for piece in landed] == list(range(len(expected)))
    assert [piece.offset for piece in landed] == [n * 4 * KIB for n in range(len(expected))]
    assert [piece.digest for piece in landed] == [piece_digest(part) for part in expected]
    # Nothing is recorded until the store is told: the sink only writes bytes.
    assert await store.pieces(TID) == []
    for piece in landed:
        await store.record_piece(piece)
    assert (await store.finish_task(TID)).state is TaskState.SUCCEEDED
    for number, part in enumerate(expected):
        assert await store.read_piece(TID, number) == part


async def test_a_run_from_a_later_piece_lands_at_its_offset(store: PieceStore) -> None:
    data = content("later", 12 * KIB)
    await start_task(store, TID, content_length=len(data), piece_length=4 * KIB)
    landed = await pump(store, data[8 * KIB :], [4 * KIB, 4 * KIB], first_piece=2)
    assert [(piece.number, piece.offset, piece.length) for piece in landed] == [
        (2, 8 * KIB, 4 * KIB)
    ]
    await store.record_piece(landed[0])
    assert await store.read_piece(TID, 2) == data[8 * KIB :]


async def test_an_empty_body_is_the_one_empty_piece(store: PieceStore) -> None:
    await start_task(store, TID, content_length=0, piece_length=4 * KIB)
    landed = await pump(store, b"", [])
    assert [(piece.number, piece.length) for piece in landed] == [(0, 0)]


async def test_bytes_past_the_end_of_the_task_are_refused(store: PieceStore) -> None:
    await start_task(store, TID, content_length=6 * KIB, piece_length=4 * KIB)
    with pytest.raises(InvalidPiece, match="past the end"):
        await pump(store, content("long", 7 * KIB), [4 * KIB, 3 * KIB])


async def test_a_stopped_sink_refuses_the_next_write(store: PieceStore) -> None:
    await start_task(store, TID, content_length=8 * KIB, piece_length=4 * KIB)
    async with store.ingest(TID, 0, lambda piece: None) as sink:
        sink.write(memoryview(content("a", KIB)))
        sink.stop(TaskNotRunning("the consumer went away"))
        with pytest.raises(TaskNotRunning, match="went away"):
            sink.write(memoryview(content("b", KIB)))


async def test_a_piece_is_not_recorded_for_a_task_no_longer_running(store: PieceStore) -> None:
    data = content("late", 4 * KIB)
    await start_task(store, TID, content_length=len(data), piece_length=4 * KIB)
    landed = await pump(store, data, [len(data)])
    await store.fail_task(TID)
    with pytest.raises(TaskNotRunning):
        await store.record_piece(landed[0])
