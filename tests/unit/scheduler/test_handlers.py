"""The scheduler's HTTP face in-process: IDs that need quoting, bodies that do not validate."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from swarmfly import errors
from swarmfly.config import SchedulerServiceConfig
from swarmfly.scheduler.app import create_app
from swarmfly.web.runner import serve_app
from swarmfly.wire.scheduler import (
    Action,
    AnnouncePeer,
    KeepAlive,
    RegisterHost,
    ReportPieces,
    ReportResult,
)
from swarmfly.wire.scheduler_client import SchedulerClient
from tests.unit.scheduler.sample import host_info, spec


@pytest.fixture
async def client() -> AsyncIterator[SchedulerClient]:
    app = create_app(SchedulerServiceConfig())
    async with aiohttp.ClientSession() as session, serve_app(app, "127.0.0.1", 0) as port:
        yield SchedulerClient(session, f"127.0.0.1:{port}")


async def test_ids_with_slashes_and_spaces_round_trip(client: SchedulerClient) -> None:
    info = host_info("rack 1/node 2")
    host_id = (await client.register_host(RegisterHost(host=info))).host_id
    assert "/" in host_id and " " in host_id
    await client.keepalive(host_id, KeepAlive())
    peer_id = f"{host_id}/peer?#1"
    answer = await client.announce_peer(AnnouncePeer(peer_id=peer_id, host_id=host_id, task=spec()))
    assert answer.action is Action.BACK_TO_SOURCE
    await client.report_pieces(peer_id, ReportPieces(pieces=[0]))
    await client.report_result(peer_id, ReportResult(success=True))
    await client.leave_peer(peer_id)
    with pytest.raises(errors.NotFound):
        await client.report_pieces(peer_id, ReportPieces(pieces=[1]))
    await client.leave_host(host_id)
    with pytest.raises(errors.NotFound):
        await client.keepalive(host_id, KeepAlive())


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/api/v1/hosts", b"{", "bad RegisterHost"),
        ("/api/v1/hosts", b'{"host": {"host_id": "h"}}', "host.hostname"),
        ("/api/v1/peers", b'{"peer_id": "p", "host_id": "h"}', "bad AnnouncePeer: task"),
        ("/api/v1/peers/p/pieces", b'{"pieces": ["x"]}', "pieces.0"),
    ],
)
async def test_bodies_that_do_not_validate_are_400(
    client: SchedulerClient, path: str, body: bytes, needle: str
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{client.base_url}{path}", data=body) as response,
    ):
        assert response.status == 400
        assert needle in (await response.json())["message"]
