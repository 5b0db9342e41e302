"""``python -m swarmfly scheduler`` as a process, driven through SchedulerClient as daemons do."""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path

import aiohttp
import pytest

from swarmfly import errors
from swarmfly.wire.scheduler import (
    Action,
    AnnouncePeer,
    BadParent,
    HostInfo,
    KeepAlive,
    PeerAssignment,
    RegisterHost,
    ReportPieces,
    ReportResult,
    Reschedule,
    TaskSpec,
)
from swarmfly.wire.scheduler_client import SchedulerClient
from tests.integration.conftest import StartScheduler, run_cli
from tests.integration.scheduler.conftest import FakeSeedDaemon

# a registry with a port, a repository with slashes, a signed query: what real tasks look like
URL = "http://registry.test:5000/v2/test/team/app/blobs/sha256:{}?X-Amz-Signature=abc&ns=r:5000"


def _spec(name: str) -> TaskSpec:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return TaskSpec(task_id=digest, url=URL.format(digest))


def _host(name: str, *, seed: bool = False, control_port: int = 1) -> HostInfo:
    return HostInfo(
        host_id=f"127.0.0.1-{name}{'-seed' if seed else ''}",
        hostname=name,
        ip="127.0.0.1",
        upload_port=40000,
        control_port=control_port,
        is_seed=seed,
    )


async def _client(
    start_scheduler: StartScheduler, session: aiohttp.ClientSession, **settings: object
) -> SchedulerClient:
    process = await start_scheduler(**settings)
    return SchedulerClient(session, f"127.0.0.1:{process.port('port')}")


async def _join(
    client: SchedulerClient, name: str, *, seed: bool = False, control_port: int = 1
) -> str:
    host = _host(name, seed=seed, control_port=control_port)
    return (await client.register_host(RegisterHost(host=host))).host_id


async def _announce(
    client: SchedulerClient, peer_id: str, host_id: str, task: str = "t"
) -> PeerAssignment:
    message = AnnouncePeer(peer_id=peer_id, host_id=host_id, task=_spec(task))
    return await client.announce_peer(message)


async def test_hosts_register_keep_alive_and_leave(
    start_scheduler: StartScheduler, session: aiohttp.ClientSession
) -> None:
    client = await _client(start_scheduler, session, hostKeepaliveInterval="2s")
    registered = await client.register_host(RegisterHost(host=_host("node-a")))
    assert registered.keepalive_interval == 2.0
    await client.keepalive(registered.host_id, KeepAlive())
    with pytest.raises(errors.NotFound):
        await client.keepalive("127.0.0.1-nobody", KeepAlive())
    with pytest.raises(errors.NotFound):
        await _announce(client, "p", "127.0.0.1-nobody")
    await client.leave_host(registered.host_id)
    await client.leave_host(registered.host_id)
    with pytest.raises(errors.NotFound):
        await client.keepalive(registered.host_id, KeepAlive())
    async with session.get(f"{client.base_url}/healthy") as response:
        assert response.status == 200


async def test_without_a_seed_one_peer_fetches_and_the_next_follows_it(
    start_scheduler: StartScheduler, session: aiohttp.ClientSession
) -> None:
    client = await _client(start_scheduler, session)
    first_host, second_host = await _join(client, "node-a"), await _join(client, "node-b")
    first = await _announce(client, "peer-a", first_host)
    assert (first.action, first.reason) == (Action.BACK_TO_SOURCE, "no seed peer")
    second = await _announce(client, "peer-b", second_host)
    assert second.action is Action.PARENTS
    assert [(p.peer_id, p.ip, p.upload_port) for p in second.parents] == [
        ("peer-a", "127.0.0.1", 40000)
    ]
    with pytest.raises(errors.InvalidInput):
        bad = AnnouncePeer(
            peer_id="x", host_id=first_host, task=_spec("t").model_copy(update={"task_id": "t"})
        )
        await client.announce_peer(bad)


async def test_reschedule_blocklists_a_bad_parent(
    start_scheduler: StartScheduler, session: aiohttp.ClientSession
) -> None:
    client = await _client(start_scheduler, session)
    hosts = [await _join(client, f"node-{index}") for index in range(3)]
    await _announce(client, "source", hosts[0])
    await client.report_pieces("source", ReportPieces(pieces=[0, 1], content_length=12 << 20))
    await _announce(client, "middle", hosts[1])
    await client.report_pieces("middle", ReportPieces(pieces=[0], parent_id="source"))
    child = await _announce(client, "child", hosts[2])
    assert {p.peer_id for p in child.parents} == {"source", "middle"}
    assert child.content_length == 12 << 20
    bad = Reschedule(bad_parents=[BadParent(peer_id="source", reason="corrupt")])
    again = await client.reschedule("child", bad)
    assert [p.peer_id for p in again.parents] == ["middle"]
    last = await client.reschedule(
        "child", Reschedule(bad_parents=[BadParent(peer_id="middle", reason="slow")])
    )
    assert (last.action, last.reason) == (Action.BACK_TO_SOURCE, "no usable parent")
    await client.report_result("child", ReportResult(success=True, content_length=12 << 20))
    await client.leave_peer("child")
    with pytest.raises(errors.NotFound):
        await client.reschedule("child", Reschedule())


async def test_one_seed_order_for_peers_announcing_together(
    start_scheduler: StartScheduler, session: aiohttp.ClientSession, fake_seed: FakeSeedDaemon
) -> None:
    client = await _client(start_scheduler, session)
    seed_host = await _join(client, "seed-1", seed=True, control_port=fake_seed.port)
    hosts = [await _join(client, f"node-{index}") for index in range(3)]
    announces = [
        asyncio.create_task(_announce(client, f"peer-{index}", host))
        for index, host in enumerate(hosts)
    ]
    async with asyncio.timeout(10):
        await fake_seed.first_order.wait()
    fake_seed.release.set()
    answers = await asyncio.gather(*announces)
    assert len(fake_seed.orders) == 1
    order = fake_seed.orders[0]
    assert order.task == _spec("t")
    for answer in answers:
        assert answer.action is Action.PARENTS
        assert [(p.peer_id, p.host_id, p.is_seed) for p in answer.parents] == [
            (order.peer_id, seed_host, True)
        ]
    # the seed reports its pieces under the order's peer ID
    await client.report_pieces(order.peer_id, ReportPieces(pieces=[0, 1, 2]))
    async with session.get(f"{client.base_url}/metrics") as response:
        metrics = await response.text()
    assert 'swarmfly_scheduler_seed_orders_total{outcome="accepted"} 1.0' in metrics
    assert 'swarmfly_scheduler_announces_total{action="parents"} 3.0' in metrics


async def test_a_silent_host_is_dropped_with_its_peers(
    start_scheduler: StartScheduler, session: aiohttp.ClientSession
) -> None:
    process = await start_scheduler(hostTTL="1s", hostKeepaliveInterval="200ms")
    client = SchedulerClient(session, f"127.0.0.1:{process.port('port')}")
    quiet = await _join(client, "quiet")
    await _announce(client, "quiet-peer", quiet)
    dropped = await process.wait_for_line(rf'msg="host dropped".*host_id={re.escape(quiet)} ')
    assert dropped["peers"] == "1"
    with pytest.raises(errors.NotFound):
        await client.keepalive(quiet, KeepAlive())
    with pytest.raises(errors.NotFound):
        await client.report_pieces("quiet-peer", ReportPieces(pieces=[0]))
    fresh = await _announce(client, "fresh-peer", await _join(client, "fresh"))
    assert fresh.action is Action.BACK_TO_SOURCE  # nobody left to follow


async def test_a_bad_config_stops_the_scheduler_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.yaml"
    path.write_text("hostTTL: never\n")
    status, _, err = await run_cli("scheduler", "--config", str(path), timeout=30)
    assert status == 2
    assert "hostTTL: not a duration" in err
