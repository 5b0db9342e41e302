"""Many real daemons, one scheduler, a seed peer and one origin: the swarm as users run it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from swarmfly import idgen
from swarmfly.web.runner import serve_app
from swarmfly.wire.scheduler import (
    AnnouncePeer,
    HostInfo,
    RegisterHost,
    ReportPieces,
    ReportResult,
    TaskSpec,
)
from swarmfly.wire.scheduler_client import SchedulerClient
from tests.integration.conftest import StartDaemon, StartScheduler, run_cli
from tests.integration.daemon.test_daemon_process import wait_for_pieces
from tests.integration.daemon.test_dfget import MIB, sha256_of
from tests.support.origin import Origin
from tests.support.processes import Process


def control(daemon: Process) -> str:
    return f"http://127.0.0.1:{daemon.port('control_port')}"


async def metric(daemon: Process, name: str) -> float:
    """One sample from the daemon's /metrics (0 when it was never counted)."""
    url = f"{control(daemon)}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


async def start_swarm(
    start_scheduler: StartScheduler,
    start_daemon: StartDaemon,
    *,
    seeds: int,
    peers: int,
    **peer_settings: Any,
) -> tuple[Process, list[Process], list[Process]]:
    scheduler = await start_scheduler()
    addrs = {"addrs": [f"127.0.0.1:{scheduler.port('port')}"]}
    seed_peers = [
        await start_daemon(f"seed{i}", scheduler=addrs, seedPeer={"enable": True})
        for i in range(seeds)
    ]
    started = await asyncio.gather(
        *(start_daemon(f"peer{i}", scheduler=addrs, **peer_settings) for i in range(peers))
    )
    return scheduler, seed_peers, list(started)


async def dfget_all(
    tmp_path: Path, url: str, peers: list[Process], digest: str | None = None
) -> list[Path]:
    """dfget ``url`` through each peer at once; every download must succeed."""
    name = url.rsplit("/", 1)[-1]
    outputs = [tmp_path / f"{peer.name}-{name}" for peer in peers]
    extra = ["--digest", f"sha256:{digest}"] if digest else []
    results = await asyncio.gather(
        *(
            run_cli(
                "dfget", url, "-O", str(out), "--daemon-addr", control(peer), *extra, timeout=300
            )
            for out, peer in zip(outputs, peers, strict=True)
        )
    )
    for code, _, err in results:
        assert code == 0, err
    return outputs


async def test_eight_peers_share_one_download_from_the_origin(
    tmp_path: Path, origin: Origin, start_scheduler: StartScheduler, start_daemon: StartDaemon
) -> None:
    size = 256 * MIB
    _, digest = origin.add_file("big.bin", size)
    _, seeds, peers = await start_swarm(start_scheduler, start_daemon, seeds=1, peers=8)
    outputs = await dfget_all(tmp_path, f"{origin.url}/big.bin", peers)
    for output in outputs:
        assert sha256_of(output) == digest
    assert origin.bytes_sent <= 1.05 * size, f"the origin served {origin.bytes_sent} bytes"
    assert "seed order accepted" in seeds[0].log_text()
    pieces = [await metric(peer, 'swarmfly_daemon_pieces_total{origin="parent"}') for peer in peers]
    assert pieces == [size // (4 * MIB)] * 8, "every piece of every peer came from a parent"


async def test_without_a_seed_one_peer_goes_to_the_source_and_the_rest_follow(
    tmp_path: Path, origin: Origin, start_scheduler: StartScheduler, start_daemon: StartDaemon
) -> None:
    size = 48 * MIB
    _, digest = origin.add_file("noseed.bin", size)
    _, _, peers = await start_swarm(start_scheduler, start_daemon, seeds=0, peers=4)
    for output in await dfget_all(tmp_path, f"{origin.url}/noseed.bin", peers, digest):
        assert sha256_of(output) == digest
    assert origin.gets("noseed.bin") == 1
    assert origin.bytes_sent == size


async def test_a_parent_killed_mid_transfer_its_children_finish_elsewhere(
    tmp_path: Path, origin: Origin, start_scheduler: StartScheduler, start_daemon: StartDaemon
) -> None:
    size = 64 * MIB
    _, digest = origin.add_file("kill.bin", size)
    url = f"{origin.url}/kill.bin"
    scheduler, _, (parent,) = await start_swarm(start_scheduler, start_daemon, seeds=1, peers=1)
    await dfget_all(tmp_path / "first", url, [parent]) if (
        tmp_path / "first"
    ).mkdir() is None else None
    addrs = {"addrs": [f"127.0.0.1:{scheduler.port('port')}"]}
    child = await start_daemon("child", scheduler=addrs, download={"rateLimit": "16Mi"})
    out = tmp_path / "child.bin"
    pending = asyncio.ensure_future(
        run_cli("dfget", url, "-O", str(out), "--daemon-addr", control(child), timeout=300)
    )
    await wait_for_pieces(child.port("upload_port"), idgen.task_id(url), 2)
    await parent.kill()
    code, _, err = await pending
    assert code == 0, err
    assert sha256_of(out) == digest
    assert origin.gets("kill.bin") == 1, "the child must not fall back to the source"


async def test_a_parent_serving_corrupt_pieces_is_dropped_and_blocklisted(
    tmp_path: Path, origin: Origin, start_scheduler: StartScheduler, start_daemon: StartDaemon
) -> None:
    size = 32 * MIB
    _, digest = origin.add_file("rot.bin", size)
    url = f"{origin.url}/rot.bin"
    task_id = idgen.task_id(url)
    # The real bytes sit on a daemon the scheduler does not know: the liar, which serves them
    # with a flipped byte per piece, is the only parent the scheduler can offer.
    scheduler = await start_scheduler()
    holder = await start_daemon("holder")
    await dfget_all(tmp_path, url, [holder])
    async with aiohttp.ClientSession() as session, corrupting_peer(session, holder) as liar:
        client = SchedulerClient(session, f"127.0.0.1:{scheduler.port('port')}")
        await liar.pretend_to_hold(client, task_id, url, size)
        addrs = {"addrs": [f"127.0.0.1:{scheduler.port('port')}"]}
        child = await start_daemon("child", scheduler=addrs)
        (out,) = await dfget_all(tmp_path, url, [child])
        served = liar.pieces_served
    assert sha256_of(out) == digest, "no corrupt byte may reach the file"
    assert served > 0, "the corrupt parent must have been tried"
    log = child.log_text()
    assert "parent dropped" in log and "reason=corrupt" in log
    # Blocklisted: after the reschedule the liar is not offered again, and the child ends on
    # the source, from which the bytes are right.
    assert log.count("reason=corrupt") == 1, log
    assert "bad parent reported" in scheduler.log_text()
    assert origin.gets("rot.bin") == 2


async def test_peers_finish_when_the_scheduler_dies_mid_download(
    tmp_path: Path, origin: Origin, start_scheduler: StartScheduler, start_daemon: StartDaemon
) -> None:
    size = 64 * MIB
    _, digest = origin.add_file("orphan.bin", size)
    url = f"{origin.url}/orphan.bin"
    scheduler, _, (child,) = await start_swarm(
        start_scheduler, start_daemon, seeds=1, peers=1, download={"rateLimit": "16Mi"}
    )
    out = tmp_path / "orphan.bin"
    pending = asyncio.ensure_future(
        run_cli("dfget", url, "-O", str(out), "--daemon-addr", control(child), timeout=300)
    )
    await wait_for_pieces(child.port("upload_port"), idgen.task_id(url), 2)
    await scheduler.kill()
    code, _, err = await pending
    assert code == 0, err
    assert sha256_of(out) == digest
    # And the next task, with no scheduler at all, goes straight to the source.
    origin.add_file("later.bin", MIB)
    await dfget_all(tmp_path, f"{origin.url}/later.bin", [child])
    assert "going back to source" in child.log_text()


class CorruptingPeer:
    """A fake peer: it forwards piece requests to a real daemon and flips a byte in each."""

    def __init__(self, session: aiohttp.ClientSession, real: Process) -> None:
        self._session = session
        self._real = f"http://127.0.0.1:{real.port('upload_port')}"
        self.port = 0
        self.pieces_served = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        async with self._session.get(self._real + request.path_qs) as upstream:
            body = bytearray(await upstream.read())
            headers = {
                k: v for k, v in upstream.headers.items() if k.lower().startswith("x-dragonfly")
            }
            headers["Content-Type"] = upstream.headers.get("Content-Type", "application/json")
        if request.match_info.get("number") is not None and body:
            body[len(body) // 3] ^= 0x5A
            self.pieces_served += 1
        return web.Response(body=bytes(body), status=upstream.status, headers=headers)

    async def pretend_to_hold(
        self, client: SchedulerClient, task_id: str, url: str, size: int
    ) -> None:
        host = HostInfo(
            host_id="127.0.0.9-liar",
            hostname="liar",
            ip="127.0.0.1",
            upload_port=self.port,
            control_port=1,
        )
        await client.register_host(RegisterHost(host=host))
        peer_id = "127.0.0.9-liar-peer"
        await client.announce_peer(
            AnnouncePeer(
                peer_id=peer_id,
                host_id=host.host_id,
                task=TaskSpec(task_id=task_id, url=url),
                need_back_to_source=True,
            )
        )
        pieces = idgen.piece_count(size, 4 * MIB)
        await client.report_pieces(
            peer_id,
            ReportPieces(pieces=list(range(pieces)), content_length=size, piece_length=4 * MIB),
        )
        await client.report_result(
            peer_id, ReportResult(success=True, content_length=size, piece_length=4 * MIB)
        )


@asynccontextmanager
async def corrupting_peer(
    session: aiohttp.ClientSession, real: Process
) -> AsyncIterator[CorruptingPeer]:
    peer = CorruptingPeer(session, real)
    app = web.Application()
    app.router.add_get("/tasks/{task_id}/pieces", peer.handle)
    app.router.add_get("/tasks/{task_id}/pieces/{number}", peer.handle)
    async with serve_app(app, "127.0.0.1", 0) as port:
        peer.port = port
        yield peer
