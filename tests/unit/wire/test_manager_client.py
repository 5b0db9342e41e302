"""ManagerClient against a small recording server on loopback: paths, bodies, the sender on
progress and result calls, and how each failure comes back."""

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
from swarmfly.wire.manager import (
    ClaimWork,
    PreheatArgs,
    RegisterScheduler,
    SchedulerKeepAlive,
    SchedulerRegistered,
    WorkClaim,
    WorkItem,
    WorkLease,
    WorkProgress,
    WorkResult,
)
from swarmfly.wire.manager_client import ManagerClient


@dataclass
class Recorder:
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
async def server() -> AsyncIterator[tuple[Recorder, ManagerClient]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    async with (
        serve_app(app, "127.0.0.1", 0, shutdown_timeout=0.1) as port,
        aiohttp.ClientSession() as session,
    ):
        yield recorder, ManagerClient(session, f"127.0.0.1:{port}", timeout=0.5)


async def test_every_call_uses_its_path_and_body(server: tuple[Recorder, ManagerClient]) -> None:
    recorder, client = server
    recorder.body = SchedulerRegistered(
        scheduler_id=7, cluster_id=2, keepalive_interval=5
    ).model_dump_json()
    registered = await client.register(
        RegisterScheduler(hostname="s", ip="127.0.0.1", port=8002, cluster_id=2)
    )
    assert registered.scheduler_id == 7
    await client.keepalive(7, SchedulerKeepAlive())
    item = WorkItem(
        work_id=3,
        job_id=1,
        cluster_id=2,
        args=PreheatArgs(type="image", url="https://r/v2/a/manifests/1", deadline=1.0),
        lease_seconds=30,
    )
    recorder.body = WorkClaim(work=item).model_dump_json()
    assert await client.claim(ClaimWork(scheduler_id=7, cluster_id=2)) == item
    recorder.body = WorkClaim().model_dump_json()
    assert await client.claim(ClaimWork(scheduler_id=7, cluster_id=2)) is None
    recorder.body = WorkLease(lease_seconds=30, cancelled=True).model_dump_json()
    assert (await client.progress(3, WorkProgress(), scheduler_id=7)).cancelled
    recorder.body = ""
    await client.result(3, WorkResult(success=True), scheduler_id=7)
    assert [(method, path) for method, path, _ in recorder.seen] == [
        ("POST", "/api/v1/schedulers"),
        ("POST", "/api/v1/schedulers/7/keepalive"),
        ("POST", "/api/v1/jobs/claim"),
        ("POST", "/api/v1/jobs/claim"),
        ("POST", "/api/v1/jobs/work/3/progress?scheduler_id=7"),
        ("POST", "/api/v1/jobs/work/3/result?scheduler_id=7"),
    ]
    assert '"success":true' in recorder.seen[-1][2]


@pytest.mark.parametrize(
    ("status", "category"),
    [(404, errors.NotFound), (409, errors.Conflict), (400, errors.InvalidInput),
     (503, errors.Unavailable)],
)  # fmt: skip
async def test_statuses_come_back_as_categories(
    server: tuple[Recorder, ManagerClient], status: int, category: type[errors.SwarmflyError]
) -> None:
    recorder, client = server
    recorder.status, recorder.body = status, '{"message": "work 3 already ended"}'
    with pytest.raises(category, match="already ended"):
        await client.result(3, WorkResult(success=True), scheduler_id=7)


async def test_transport_failures(server: tuple[Recorder, ManagerClient]) -> None:
    recorder, client = server
    recorder.body = "not json"
    with pytest.raises(BadResponse):
        await client.claim(ClaimWork(scheduler_id=1, cluster_id=1))
    recorder.body, recorder.delay = WorkClaim().model_dump_json(), 2.0
    with pytest.raises(errors.Timeout):
        await client.claim(ClaimWork(scheduler_id=1, cluster_id=1))
    async with aiohttp.ClientSession() as session:
        nobody = ManagerClient(session, f"http://127.0.0.1:{free_port()}")
        with pytest.raises(errors.Unavailable):
            await nobody.keepalive(1, SchedulerKeepAlive())
