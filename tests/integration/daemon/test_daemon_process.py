"""The daemon as a process: crashes, corruption on disk, a full disk, shutdown, bad config."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from swarmfly import idgen
from tests.conftest import require_root
from tests.integration.conftest import StartDaemon, run_cli
from tests.integration.daemon.test_dfget import MIB, sha256_of
from tests.support.origin import Origin


def content_file(store: Path, task_id: str) -> Path:
    return store / "content" / task_id[:3] / task_id


async def wait_for_pieces(upload_port: int, task_id: str, more_than: int) -> int:
    """Long-poll the piece server until the task has more than ``more_than`` pieces."""
    url = f"http://127.0.0.1:{upload_port}/tasks/{task_id}/pieces"
    async with aiohttp.ClientSession() as session, asyncio.timeout(60):
        while True:
            params = {"known": str(more_than), "wait": "20s"}
            async with session.get(url, params=params) as response:
                if response.status == 200:
                    count = len((await response.json())["pieces"])
                    if count > more_than:
                        return count


async def test_sigkill_mid_download_then_restart_serves_only_verified_bytes(
    tmp_path: Path, origin: Origin, start_daemon: StartDaemon
) -> None:
    size = 64 * MIB
    _, digest = origin.add_file("crash.bin", size)
    url = f"{origin.url}/crash.bin"
    task_id = idgen.task_id(url)
    daemon = await start_daemon("node", download={"rateLimit": "16Mi"})
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    pending = asyncio.ensure_future(
        run_cli("dfget", url, "-O", str(tmp_path / "first"), "--daemon-addr", addr)
    )
    landed = await wait_for_pieces(daemon.port("upload_port"), task_id, 2)
    await daemon.kill()
    code, _, _ = await pending
    assert code != 0 and not (tmp_path / "first").exists()
    assert landed < size // (4 * MIB), "the kill must land mid-download"

    daemon = await start_daemon("node")
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    code, _, err = await run_cli(
        "dfget", url, "-O", str(tmp_path / "second"), "--daemon-addr", addr
    )
    assert code == 0, err
    assert sha256_of(tmp_path / "second") == digest
    resumed = [r for m, p, r in origin.requests if p == "/crash.bin" and r is not None]
    assert resumed, "the restarted daemon must fetch only what it was missing"
    assert origin.bytes_sent < 2 * size


async def test_a_piece_corrupted_on_disk_is_dropped_at_restart_not_served(
    tmp_path: Path, origin: Origin, start_daemon: StartDaemon
) -> None:
    _, digest = origin.add_file("rot.bin", 12 * MIB)
    url = f"{origin.url}/rot.bin"
    daemon = await start_daemon("node")
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    assert (await run_cli("dfget", url, "-O", str(tmp_path / "a"), "--daemon-addr", addr))[0] == 0
    assert await daemon.stop() == 0

    path = content_file(tmp_path / "node" / "store", idgen.task_id(url))
    with open(path, "r+b") as file:
        file.seek(5 * MIB)
        byte = file.read(1)
        file.seek(5 * MIB)
        file.write(bytes([byte[0] ^ 0xFF]))

    daemon = await start_daemon("node")
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    code, _, err = await run_cli("dfget", url, "-O", str(tmp_path / "b"), "--daemon-addr", addr)
    assert code == 0, err
    assert sha256_of(tmp_path / "b") == digest
    ranged = [r for m, p, r in origin.requests if p == "/rot.bin" and r is not None]
    assert ranged == ["bytes=4194304-8388607"], "only the corrupt piece is fetched again"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    require_root()
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_is_a_clear_error_and_no_task_is_marked_complete(
    tmp_path: Path, origin: Origin, start_daemon: StartDaemon, small_disk: Path
) -> None:
    origin.add_file("huge.bin", 24 * MIB)
    url = f"{origin.url}/huge.bin"
    daemon = await start_daemon("node", storage={"dir": str(small_disk / "store")})
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    code, _, err = await run_cli(
        "dfget", url, "-O", str(tmp_path / "huge.bin"), "--daemon-addr", addr
    )
    assert code == 1
    assert "space" in err.lower(), err
    assert not (tmp_path / "huge.bin").exists()
    stat_url = f"{addr}/api/v1/tasks/{idgen.task_id(url)}"
    async with aiohttp.ClientSession() as session, session.get(stat_url) as response:
        if response.status == 200:
            assert (await response.json())["state"] != "succeeded"
        else:
            assert response.status == 404
    # The daemon is still healthy and serves what fits.
    origin.add_file("small.bin", MIB)
    code, _, err = await run_cli(
        "dfget", f"{origin.url}/small.bin", "-O", str(tmp_path / "s"), "--daemon-addr", addr
    )
    assert code == 0, err


async def test_sigterm_stops_cleanly(start_daemon: StartDaemon) -> None:
    daemon = await start_daemon()
    assert await daemon.stop() == 0
    assert "msg=stopped" in daemon.log_text()


async def test_a_bad_config_fails_at_start_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "dfget.yaml"
    config.write_text("download:\n  rateLimit: lots\n")
    code, _, err = await run_cli("daemon", "--config", str(config))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("dfdaemon: error: download.rateLimit: not a size: 'lots'")


async def test_unknown_keys_are_a_warning_naming_them(start_daemon: StartDaemon) -> None:
    daemon = await start_daemon(storge={"dir": "/tmp/typo"})
    assert "unknown config keys" in daemon.log_text()
    assert "storge" in daemon.log_text()
