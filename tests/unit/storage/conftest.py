from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from swarmfly.config import StorageConfig
from swarmfly.storage import PieceStore

from .sample import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(tmp_path: Path) -> StorageConfig:
    return StorageConfig(dir=tmp_path / "store")


@pytest.fixture
async def store(config: StorageConfig, clock: FakeClock) -> AsyncIterator[PieceStore]:
    async with PieceStore.open(config, clock=clock) as opened:
        yield opened
