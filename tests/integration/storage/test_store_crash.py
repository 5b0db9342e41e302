"""A writer killed with SIGKILL halfway through a piece: after a restart the store keeps exactly
the pieces it can prove, never the torn one, and the task resumes to a correct whole.

The child process is real (``sys.executable -c``). It commits pieces, starts the next one, says
``mid-write N`` and then keeps rewriting that piece with garbage until it is killed, so the
SIGKILL always lands during a write of uncommitted bytes. The test synchronises on that line.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import xxhash

from swarmfly.config import StorageConfig
from swarmfly.storage import PieceStore, TaskState

PIECE = 256 * 1024
COUNT = 32
STOP_AT = 20
CHUNK = 64 * 1024
TID = hashlib.sha256(b"crash test").hexdigest()
DEADLINE = 120

CHILD = r"""
import asyncio, random, sys
from pathlib import Path

from swarmfly.config import StorageConfig
from swarmfly.storage import PieceStore

root, tid = sys.argv[1], sys.argv[2]
piece_length, count, stop_at, chunk = map(int, sys.argv[3:7])


async def rewrite_forever(store, number):
    noise = random.Random()
    while True:
        # Garbage over the piece, cut into a piece nobody records (as a source dying would).
        async with store.ingest(tid, number, lambda piece: None) as sink:
            for _ in range(0, piece_length, chunk):
                sink.write(memoryview(noise.randbytes(chunk)))
        await asyncio.sleep(0)


async def main():
    async with PieceStore.open(StorageConfig(dir=Path(root))) as store:
        await store.create_task(tid, url="https://example.com/big", digest=None,
                                content_length=piece_length * count, piece_length=piece_length)
        landed = []
        async with store.ingest(tid, 0, landed.append) as sink:
            for number in range(count):
                data = random.Random(number).randbytes(piece_length)
                for start in range(0, piece_length, chunk):
                    if number == stop_at and start == piece_length // 2:
                        print(f"mid-write {number}", flush=True)
                        await rewrite_forever(store, number)
                    sink.write(memoryview(data[start:start + chunk]))
                for piece in landed:
                    await store.record_piece(piece)
                landed.clear()
                print(f"committed {number}", flush=True)
        await store.finish_task(tid)
        print("finished", flush=True)


asyncio.run(main())
"""


def piece_bytes(number: int) -> bytes:
    return random.Random(number).randbytes(PIECE)


@pytest.fixture
async def writer_process(tmp_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """The child writer; killed (if still alive) and reaped at teardown, its stderr shown."""
    stderr_path = tmp_path / "child.stderr"
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            str(tmp_path / "store"),
            TID,
            str(PIECE),
            str(COUNT),
            str(STOP_AT),
            str(CHUNK),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        sys.stderr.write(stderr_path.read_text()[-4000:])


async def wait_for_line(process: asyncio.subprocess.Process, wanted: str) -> list[str]:
    """Every line the child printed, up to and including ``wanted``."""
    assert process.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(DEADLINE):
        while not lines or lines[-1] != wanted:
            raw = await process.stdout.readline()
            if not raw:
                pytest.fail(f"the writer exited before {wanted!r}; it printed {lines[-3:]}")
            lines.append(raw.decode().strip())
    return lines


async def test_a_writer_killed_mid_piece_leaves_only_provable_pieces(
    tmp_path: Path, writer_process: asyncio.subprocess.Process
) -> None:
    lines = await wait_for_line(writer_process, f"mid-write {STOP_AT}")
    writer_process.send_signal(signal.SIGKILL)
    assert await writer_process.wait() == -signal.SIGKILL
    assert f"committed {STOP_AT - 1}" in lines

    config = StorageConfig(dir=tmp_path / "store")
    async with PieceStore.open(config) as store:
        task = await store.get_task(TID)
        assert task is not None
        assert task.state is TaskState.RUNNING
        pieces = await store.pieces(TID)
        assert [p.number for p in pieces] == list(range(STOP_AT))
        on_disk = store.content_path(TID).read_bytes()
        for piece in pieces:
            stored = on_disk[piece.offset : piece.offset + piece.length]
            assert xxhash.xxh3_64_hexdigest(stored) == piece.digest
            assert stored == piece_bytes(piece.number)

        await store.create_task(
            TID,
            url="https://example.com/big",
            content_length=PIECE * COUNT,
            piece_length=PIECE,
            digest=None,
        )
        for number in range(STOP_AT, COUNT):
            await store.write_piece(TID, number, number * PIECE, piece_bytes(number))
        assert (await store.finish_task(TID)).state is TaskState.SUCCEEDED
        whole = hashlib.sha256(b"".join(piece_bytes(n) for n in range(COUNT))).hexdigest()
        assert await store.hash_content(TID, "sha256") == whole
