"""A real database per test (SQLite, and PostgreSQL where a module asks for ``backend``),
migrated to head, with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from swarmfly.config import ManagerServiceConfig
from swarmfly.manager.database import Database
from tests.support.manager import BACKENDS, database_dsn, manager_config
from tests.unit.scheduler.sample import FakeClock


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def config(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> ManagerServiceConfig:
    return manager_config(tmp_path, await database_dsn(backend, request))


@pytest.fixture
async def database(config: ManagerServiceConfig) -> AsyncIterator[Database]:
    async with Database.open(config) as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)
