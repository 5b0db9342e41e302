"""Fixtures that run real daemons and a real origin on loopback, each test in its own dirs."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.origin import Origin, running_origin
from tests.support.processes import Process, ProcessGroup, daemon_config, scheduler_config

StartDaemon = Callable[..., Awaitable[Process]]
StartScheduler = Callable[..., Awaitable[Process]]


@pytest.fixture
async def origin(tmp_path: Path) -> AsyncIterator[Origin]:
    async with running_origin(tmp_path / "origin") as served:
        yield served


@pytest.fixture
async def processes(request: pytest.FixtureRequest) -> AsyncIterator[ProcessGroup]:
    """Every process a test starts; stopped at teardown, log tails printed if it failed."""
    group = ProcessGroup()
    yield group
    report = getattr(request.node, "rep_call", None)
    await group.close(show_logs=report is not None and report.failed)


@pytest.fixture
def start_daemon(tmp_path: Path, processes: ProcessGroup) -> StartDaemon:
    """``await start_daemon("a", download={...})`` runs a daemon with its own store."""

    async def start(name: str = "daemon", **sections: Any) -> Process:
        root = tmp_path / name
        config = daemon_config(root, **sections)
        return await processes.start(name, ["daemon", "--config", str(config)], root)

    return start


@pytest.fixture
def start_scheduler(tmp_path: Path, processes: ProcessGroup) -> StartScheduler:
    """``await start_scheduler(hostTTL="1s")`` runs ``python -m swarmfly scheduler``."""

    async def start(name: str = "scheduler", **settings: Any) -> Process:
        root = tmp_path / name
        config = scheduler_config(root, **settings)
        return await processes.start(name, ["scheduler", "--config", str(config)], root)

    return start


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


async def run_cli(*args: str, timeout: float = 120) -> tuple[int, str, str]:
    """Run ``python -m swarmfly <args>``; returns (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "swarmfly",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(timeout):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
