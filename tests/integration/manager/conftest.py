"""The manager's app on a loopback port (in this process, with a clock the test moves and the
janitor swept by hand) or as a real process, over SQLite or PostgreSQL (``backend``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from swarmfly.manager.app import create_app
from swarmfly.manager.appkeys import METRICS, QUEUE, SCHEDULERS, TOKENS
from swarmfly.manager.janitor import JobJanitor
from swarmfly.web.runner import serve_app
from tests.support.manager import BACKENDS, database_dsn, manager_config, write_manager_yaml
from tests.support.processes import Process, ProcessGroup
from tests.unit.scheduler.sample import FakeClock

StartManager = Callable[..., Awaitable[Process]]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@dataclass
class Manager:
    """A manager app served on loopback, and handles on what tests need inside it."""

    url: str
    app: web.Application
    clock: FakeClock
    config_root: Path

    def oapi(self, path: str) -> str:
        return f"{self.url}/oapi/v1{path}"

    async def token(
        self, scopes: tuple[str, ...] = ("job",), expires_in: timedelta = timedelta(days=1)
    ) -> str:
        name = f"token-{uuid.uuid4().hex[:8]}"
        return (await self.app[TOKENS].create(name, scopes, expires_in)).value

    async def sweep(self) -> Any:
        janitor = JobJanitor(self.app[QUEUE], self.app[SCHEDULERS], self.app[METRICS], interval=1.0)
        return await janitor.sweep()


@pytest.fixture
async def manager(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Manager]:
    config = manager_config(tmp_path, await database_dsn(backend, request))
    clock = FakeClock(time.time())
    app = create_app(config, clock=clock, janitor=False)
    async with serve_app(app, "127.0.0.1", 0, shutdown_timeout=1.0) as port:
        yield Manager(f"http://127.0.0.1:{port}", app, clock, tmp_path)


@pytest.fixture
def start_manager(tmp_path: Path, processes: ProcessGroup) -> StartManager:
    """``await start_manager(dsn, logLevel="debug")`` runs ``python -m swarmfly manager``."""

    async def start(dsn: str, name: str = "manager", **settings: Any) -> Process:
        root = tmp_path / name
        config = write_manager_yaml(root, dsn, **settings)
        return await processes.start(name, ["manager", "--config", str(config)], root)

    return start
