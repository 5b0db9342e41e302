"""dfget through a real daemon process, and straight from the source, against a real origin."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import aiohttp

from swarmfly import idgen
from tests.integration.conftest import StartDaemon, run_cli
from tests.support.origin import Origin

MIB = 1 << 20


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(MIB):
            hasher.update(chunk)
    return hasher.hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


async def test_cold_then_warm_through_the_daemon(
    tmp_path: Path, origin: Origin, start_daemon: StartDaemon
) -> None:
    _, digest = origin.add_file("big.bin", 20 * MIB + 123)
    daemon = await start_daemon()
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    url = f"{origin.url}/big.bin"

    code, _, err = await run_cli(
        "dfget",
        url,
        "-O",
        str(tmp_path / "cold.bin"),
        "--daemon-addr",
        addr,
        "--digest",
        f"sha256:{digest}",
    )
    assert code == 0, err
    assert sha256_of(tmp_path / "cold.bin") == digest
    assert origin.bytes_sent == 20 * MIB + 123

    code, _, err = await run_cli(
        "dfget", url, "-O", str(tmp_path / "warm.bin"), "--daemon-addr", addr
    )
    assert code == 0, err
    assert sha256_of(tmp_path / "warm.bin") == digest
    assert origin.gets("big.bin") == 1, "the warm download must come from the store"
    assert "task ready" in daemon.log_text()

    async with aiohttp.ClientSession() as session:
        task_id = idgen.task_id(url)
        async with session.get(f"{addr}/api/v1/tasks/{task_id}") as response:
            info = await response.json()
        assert info["state"] == "succeeded" and info["content_length"] == 20 * MIB + 123
        async with session.get(f"{addr}/metrics") as response:
            metrics = await response.text()
    assert "swarmfly_daemon_source_bytes_total 2.0971643e+07" in metrics
    assert 'swarmfly_daemon_tasks_total{outcome="store_hit"} 1.0' in metrics


async def test_concurrent_requests_share_one_download(
    tmp_path: Path, origin: Origin, start_daemon: StartDaemon
) -> None:
    _, digest = origin.add_file("shared.bin", 24 * MIB)
    daemon = await start_daemon(download={"rateLimit": "48Mi"})
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    url = f"{origin.url}/shared.bin"
    results = await asyncio.gather(
        *(
            run_cli("dfget", url, "-O", str(tmp_path / f"c{i}.bin"), "--daemon-addr", addr)
            for i in range(4)
        )
    )
    for code, _, err in results:
        assert code == 0, err
    for i in range(4):
        assert sha256_of(tmp_path / f"c{i}.bin") == digest
    assert origin.gets("shared.bin") == 1
    assert origin.bytes_sent == 24 * MIB


async def test_signed_url_parameters_hit_the_same_task(
    tmp_path: Path, origin: Origin, start_daemon: StartDaemon
) -> None:
    origin.add_file("signed.bin", 3 * MIB)
    daemon = await start_daemon()
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    first = f"{origin.url}/signed.bin?Expires=100&Signature=aaa"
    second = f"{origin.url}/signed.bin?Expires=200&Signature=bbb"
    assert (await run_cli("dfget", first, "-O", str(tmp_path / "1"), "--daemon-addr", addr))[0] == 0
    assert (await run_cli("dfget", second, "-O", str(tmp_path / "2"), "--daemon-addr", addr))[
        0
    ] == 0
    assert origin.gets("signed.bin") == 1
    code, out, _ = await run_cli("task-id", second)
    assert code == 0 and out.strip() == idgen.task_id(first)


async def test_wrong_digest_leaves_nothing_and_is_not_kept(
    tmp_path: Path, origin: Origin, start_daemon: StartDaemon
) -> None:
    origin.add_file("liar.bin", 9 * MIB)
    daemon = await start_daemon()
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    url = f"{origin.url}/liar.bin"
    wrong = "sha256:" + "0" * 64
    code, _, err = await run_cli(
        "dfget", url, "-O", str(tmp_path / "liar.bin"), "--daemon-addr", addr, "--digest", wrong
    )
    assert code == 1
    assert err.startswith("dfget: error:") and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "liar.bin").exists()
    assert leftovers(tmp_path) == []
    # The bad bytes were discarded: a retry with the right digest goes to the source again.
    code, _, err = await run_cli(
        "dfget", url, "-O", str(tmp_path / "ok.bin"), "--daemon-addr", addr
    )
    assert code == 0, err
    assert origin.gets("liar.bin") == 2


async def test_source_errors_are_one_clear_line(
    tmp_path: Path, origin: Origin, start_daemon: StartDaemon
) -> None:
    daemon = await start_daemon()
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    code, _, err = await run_cli(
        "dfget", f"{origin.url}/missing.bin", "-O", str(tmp_path / "m"), "--daemon-addr", addr
    )
    assert code == 1
    assert "404" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "m").exists()
    code, _, err = await run_cli(
        "dfget", "not-a-url", "-O", str(tmp_path / "m"), "--daemon-addr", addr
    )
    assert code == 1 and "URL" in err, err


async def test_without_a_daemon_dfget_goes_to_the_source(tmp_path: Path, origin: Origin) -> None:
    _, digest = origin.add_file("direct.bin", 5 * MIB)
    closed = "http://127.0.0.1:9"  # discard port: nothing listens there
    out = tmp_path / "direct.bin"
    code, _, err = await run_cli(
        "dfget",
        f"{origin.url}/direct.bin",
        "-O",
        str(out),
        "--daemon-addr",
        closed,
        "--digest",
        f"sha256:{digest}",
    )
    assert code == 0, err
    assert sha256_of(out) == digest
    code, _, err = await run_cli(
        "dfget",
        f"{origin.url}/direct.bin",
        "-O",
        str(tmp_path / "x"),
        "--daemon-addr",
        closed,
        "--disable-back-to-source",
    )
    assert code == 1 and "back-to-source" in err
    assert not (tmp_path / "x").exists()


async def test_disable_back_to_source_through_the_daemon(
    tmp_path: Path, origin: Origin, start_daemon: StartDaemon
) -> None:
    origin.add_file("nobody.bin", MIB)
    daemon = await start_daemon()
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    code, _, err = await run_cli(
        "dfget",
        f"{origin.url}/nobody.bin",
        "-O",
        str(tmp_path / "n"),
        "--daemon-addr",
        addr,
        "--disable-back-to-source",
    )
    assert code == 1 and "back-to-source" in err
    assert origin.gets("nobody.bin") == 0
