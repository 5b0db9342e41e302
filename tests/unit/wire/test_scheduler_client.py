"""SchedulerClient and SeedClient against a small recording server on loopback: paths, bodies,
and how each failure comes back (status, refused connection, deadline, unreadable answer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from swarmfly import errors
from swarmfly.web.runner import free_port, serve_app
from swarmfly.wire.errors import BadResponse
from swarmfly.wire.scheduler import (
    Action,
    AnnouncePeer,
    BadParent,
    HostInfo,
    HostLoad,
    HostRegistered,
    KeepAlive,
    PeerAssignment,
    RegisterHost,
    ReportPieces,
    ReportResult,
    Reschedule,
    SeedOrder,
    SeedOrderAccepted,
    TaskSpec,
)
from swarmfly.wire.scheduler_client import SchedulerClient, SeedClient

TASK_ID = "a" * 64
HOST = HostInfo(
    host_id="127.0.0.1-node/1", hostname="node/1", ip="127.0.0.1", upload_port=1, control_port=2
)


@dataclass
class Recorder:
    """Answers every request with ``status`` and ``body`` after ``delay``; keeps what came in."""

    status: int = 200
    body: str = ""
    delay: float = 0.0
    seen: list[tuple[str, str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.method, request.raw_path, await request.text()))
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.status, text=self.body, content_type="application/json")


@pytest.fixture
async def server() -> AsyncIterator[tuple[Recorder, int]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    async with serve_app(app, "127.0.0.1", 0, shutdown_timeout=0.1) as port:
        yield recorder, port


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


async def test_every_call_uses_its_path_and_body(
    server: tuple[Recorder, int], session: aiohttp.ClientSession
) -> None:
    recorder, port = server
    client = SchedulerClient(session, f"127.0.0.1:{port}")
    recorder.body = HostRegistered(host_id=HOST.host_id, keepalive_interval=2.5).model_dump_json()
    registered = await client.register_host(RegisterHost(host=HOST))
    assert registered.keepalive_interval == 2.5
    recorder.status, recorder.body = 204, ""
    await client.keepalive(HOST.host_id, KeepAlive(load=HostLoad(active_uploads=3)))
    await client.report_pieces("peer/1", ReportPieces(pieces=[0, 1]))
    await client.report_result("peer/1", ReportResult(success=True, content_length=9))
    await client.leave_peer("peer/1")
    await client.leave_host(HOST.host_id)
    recorder.status = 200
    recorder.body = PeerAssignment(action=Action.BACK_TO_SOURCE, reason="r").model_dump_json()
    spec = TaskSpec(task_id=TASK_ID, url="http://origin/f")
    answer = await client.announce_peer(AnnouncePeer(peer_id="p", host_id="h", task=spec))
    assert answer.action is Action.BACK_TO_SOURCE
    bad = Reschedule(bad_parents=[BadParent(peer_id="q", reason="corrupt")])
    assert (await client.reschedule("peer/1", bad)).reason == "r"
    assert [(method, path) for method, path, _ in recorder.seen] == [
        ("POST", "/api/v1/hosts"),
        ("POST", "/api/v1/hosts/127.0.0.1-node%2F1/keepalive"),
        ("POST", "/api/v1/peers/peer%2F1/pieces"),
        ("POST", "/api/v1/peers/peer%2F1/result"),
        ("DELETE", "/api/v1/peers/peer%2F1"),
        ("DELETE", "/api/v1/hosts/127.0.0.1-node%2F1"),
        ("POST", "/api/v1/peers"),
        ("POST", "/api/v1/peers/peer%2F1/parents"),
    ]
    assert KeepAlive.model_validate_json(recorder.seen[1][2]).load.active_uploads == 3
    assert Reschedule.model_validate_json(recorder.seen[-1][2]) == bad


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (404, errors.NotFound),
        (400, errors.InvalidInput),
        (409, errors.Conflict),
        (503, errors.Unavailable),
        (500, errors.SwarmflyError),
    ],
)
async def test_error_statuses_become_categories(
    server: tuple[Recorder, int],
    session: aiohttp.ClientSession,
    status: int,
    category: type[errors.SwarmflyError],
) -> None:
    recorder, port = server
    recorder.status, recorder.body = status, '{"message": "unknown host", "error": "X"}'
    client = SchedulerClient(session, f"http://127.0.0.1:{port}/")
    with pytest.raises(category, match="unknown host" if status != 500 else "500"):
        await client.keepalive("h", KeepAlive())


async def test_refused_connection_is_unavailable(session: aiohttp.ClientSession) -> None:
    client = SchedulerClient(session, f"127.0.0.1:{free_port()}")
    with pytest.raises(errors.Unavailable, match="cannot reach the scheduler"):
        await client.register_host(RegisterHost(host=HOST))


async def test_deadline_is_timeout(
    server: tuple[Recorder, int], session: aiohttp.ClientSession
) -> None:
    recorder, port = server
    recorder.delay = 5.0
    client = SchedulerClient(session, f"127.0.0.1:{port}", timeout=0.1, schedule_timeout=0.1)
    with pytest.raises(errors.Timeout):
        await client.keepalive("h", KeepAlive())
    spec = TaskSpec(task_id=TASK_ID, url="http://origin/f")
    with pytest.raises(errors.Timeout):
        await client.announce_peer(AnnouncePeer(peer_id="p", host_id="h", task=spec))


async def test_unreadable_answer_is_bad_response(
    server: tuple[Recorder, int], session: aiohttp.ClientSession
) -> None:
    recorder, port = server
    recorder.body = '{"action": "teleport"}'
    client = SchedulerClient(session, f"127.0.0.1:{port}")
    spec = TaskSpec(task_id=TASK_ID, url="http://origin/f")
    with pytest.raises(BadResponse):
        await client.announce_peer(AnnouncePeer(peer_id="p", host_id="h", task=spec))
    assert issubclass(BadResponse, errors.Unavailable)


@pytest.mark.parametrize("status", [200, 202])
async def test_seed_order(
    server: tuple[Recorder, int], session: aiohttp.ClientSession, status: int
) -> None:
    recorder, port = server
    accepted = SeedOrderAccepted(task_id=TASK_ID, peer_id="seed-peer", state="running")
    recorder.status, recorder.body = status, accepted.model_dump_json()
    order = SeedOrder(peer_id="seed-peer", task=TaskSpec(task_id=TASK_ID, url="http://o/f"))
    assert await SeedClient(session).order("127.0.0.1", port, order) == accepted
    method, path, body = recorder.seen[0]
    assert (method, path) == ("POST", "/api/v1/seed/tasks")
    assert SeedOrder.model_validate_json(body) == order


async def test_seed_order_refused(
    server: tuple[Recorder, int], session: aiohttp.ClientSession
) -> None:
    recorder, port = server
    recorder.status, recorder.body = 409, '{"message": "not a seed peer"}'
    order = SeedOrder(peer_id="p", task=TaskSpec(task_id=TASK_ID, url="http://o/f"))
    with pytest.raises(errors.Conflict, match="not a seed peer"):
        await SeedClient(session).order("127.0.0.1", port, order)
    with pytest.raises(errors.Unavailable):
        await SeedClient(session).order("127.0.0.1", free_port(), order)
