"""A full disk, for real: the store lives on an 8 MiB tmpfs mounted for the test.

Mounting needs root (CAP_SYS_ADMIN). Where that is missing the tests skip, except under
``CI=true``, where a skipped full-disk test would hide a regression, so they fail instead.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from swarmfly.config import GCConfig, GCPolicy, StorageConfig
from swarmfly.digests import piece_digest
from swarmfly.storage import GarbageCollector, PieceStore, StoreFull, TaskIncomplete, TaskState
from tests.conftest import require

from .sample import content, start_task, task_id, write_task

MIB = 1024 * 1024
TID = task_id("full disk")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        problem = result.stderr.strip() if result.returncode else None
    except OSError as exc:
        problem = str(exc)
    require(problem is None, f"cannot mount a tmpfs for the full-disk tests: {problem}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True, timeout=30)


def content_files(root: Path) -> list[Path]:
    return [path for path in (root / "content").rglob("*") if path.is_file()]


async def test_a_task_larger_than_the_disk_fails_at_create_and_leaves_nothing(
    small_disk: Path,
) -> None:
    async with PieceStore.open(StorageConfig(dir=small_disk)) as store:
        used_before = shutil.disk_usage(small_disk).used
        with pytest.raises(StoreFull):
            await start_task(
                store, TID, content_length=16 * MIB, piece_length=MIB, url="https://example.com/big"
            )
        assert await store.get_task(TID) is None
        assert await store.tasks() == []
        assert content_files(small_disk) == []
        assert shutil.disk_usage(small_disk).used <= used_before
        small = await write_task(store, task_id("fits"), content("fits", 2 * MIB), MIB)
        assert small.state is TaskState.SUCCEEDED


async def test_pieces_past_the_free_space_fail_and_the_task_never_succeeds(
    small_disk: Path,
) -> None:
    async with PieceStore.open(StorageConfig(dir=small_disk, fsync=True)) as store:
        await start_task(
            store, TID, content_length=None, piece_length=MIB, url="https://example.com/stream"
        )
        data = content("stream", MIB)
        with pytest.raises(StoreFull):
            for number in range(16):
                await store.write_piece(TID, number, number * MIB, data)
        task = await store.get_task(TID)
        assert task is not None
        assert task.state is TaskState.RUNNING
        pieces = await store.pieces(TID)
        assert 0 < len(pieces) < 8
        for piece in pieces:
            assert piece_digest(await store.read_piece(TID, piece.number)) == piece.digest
        with pytest.raises(TaskIncomplete):
            await store.finish_task(TID)
        await store.fail_task(TID)
        assert content_files(small_disk) == []
        assert (await store.get_task(TID)).state is TaskState.FAILED  # type: ignore[union-attr]


async def test_garbage_collection_frees_a_full_disk(small_disk: Path) -> None:
    config = GCConfig(
        policy=GCPolicy(disk_high_threshold_percent=80, disk_low_threshold_percent=60)
    )
    async with PieceStore.open(StorageConfig(dir=small_disk)) as store:
        old = task_id("old")
        await write_task(store, old, content("old", 4 * MIB), MIB)
        await start_task(
            store, TID, content_length=None, piece_length=MIB, url="https://example.com/stream"
        )
        with pytest.raises(StoreFull):
            for number in range(16):
                await store.write_piece(TID, number, number * MIB, content("new", MIB))
        evicted = await GarbageCollector(store, config).run_once()
        assert evicted[0] == old
        usage = shutil.disk_usage(small_disk)
        assert usage.used * 100 / usage.total <= 60


async def test_a_sink_that_hits_a_full_disk_raises_store_full(small_disk: Path) -> None:
    async with PieceStore.open(StorageConfig(dir=small_disk)) as store:
        await start_task(
            store, TID, content_length=None, piece_length=MIB, url="https://example.com/stream"
        )
        landed = []
        chunk = memoryview(content("sink", MIB // 2))
        with pytest.raises(StoreFull):
            async with store.ingest(TID, 0, landed.append) as sink:
                for _ in range(32):
                    sink.write(chunk)
        # The pieces that fitted were cut whole; the one the disk cut short never was.
        assert 0 < len(landed) < 8
        whole = piece_digest(bytes(chunk) * 2)
        assert [(piece.number, piece.digest) for piece in landed] == [
            (number, whole) for number in range(len(landed))
        ]
