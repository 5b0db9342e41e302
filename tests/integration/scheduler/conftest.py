"""A real scheduler process, a client session to drive it, and a fake seed daemon."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from swarmfly.web.runner import serve_app
from swarmfly.wire.scheduler import SEED_TASKS_PATH, SeedOrder, SeedOrderAccepted


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@dataclass
class FakeSeedDaemon:
    """A seed daemon's control port reduced to ``POST /api/v1/seed/tasks``: records orders."""

    port: int = 0
    orders: list[SeedOrder] = field(default_factory=list)
    first_order: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def accept(self, request: web.Request) -> web.Response:
        order = SeedOrder.model_validate_json(await request.read())
        self.orders.append(order)
        self.first_order.set()
        await self.release.wait()
        answer = SeedOrderAccepted(
            task_id=order.task.task_id, peer_id=order.peer_id, state="running"
        )
        return web.json_response(text=answer.model_dump_json(), status=202)


@pytest.fixture
async def fake_seed() -> AsyncIterator[FakeSeedDaemon]:
    seed = FakeSeedDaemon()
    app = web.Application()
    app.router.add_post(SEED_TASKS_PATH, seed.accept)
    async with serve_app(app, "127.0.0.1", 0, shutdown_timeout=1.0) as port:
        seed.port = port
        yield seed
