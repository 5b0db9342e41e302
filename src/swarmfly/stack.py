"""``swarmfly up``: a manager, a scheduler and a seed-peer daemon in one process.

This is what a newcomer starts: one command, SQLite, the default ports, every file under one
data directory. It is a composition root, like ``cli``: it builds each role's config so they
find one another on loopback, and runs their ``serve`` coroutines side by side until a signal
stops them all. In production each role runs as its own process with its own config file.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from pathlib import Path

from swarmfly.config import (
    DaemonConfig,
    ManagerServiceConfig,
    SchedulerServiceConfig,
    parse_daemon_config,
)
from swarmfly.daemon.main import serve as serve_daemon
from swarmfly.errors import InvalidInput
from swarmfly.manager.database import Database
from swarmfly.manager.main import serve as serve_manager
from swarmfly.manager.tokens import TokenStore, parse_scopes
from swarmfly.manager.users import ROOT_PASSWORD_FILE, UserStore
from swarmfly.scheduler.main import serve as serve_scheduler

TOKEN_FILE = "token"
TOKEN_LIFETIME = timedelta(days=365)


@dataclass(frozen=True)
class StackPorts:
    manager: int = 8080
    scheduler: int = 8002
    upload: int = 4000
    proxy: int = 4001
    control: int = 4003


def parse_stack_ports(pairs: Iterable[str]) -> StackPorts:
    """The default ports with ``role=port`` pairs applied (``up --port``, for tests)."""
    chosen: dict[str, int] = {}
    roles = {f.name for f in fields(StackPorts)}
    for pair in pairs:
        role, _, text = pair.partition("=")
        if role not in roles or not text.isdigit() or not 0 < int(text) < 65536:
            raise InvalidInput(
                f"--port wants ROLE=PORT with ROLE one of {', '.join(sorted(roles))}: {pair!r}"
            )
        chosen[role] = int(text)
    return replace(StackPorts(), **chosen)


@dataclass(frozen=True)
class Stack:
    data_dir: Path
    manager: ManagerServiceConfig
    scheduler: SchedulerServiceConfig
    daemon: DaemonConfig


def stack_configs(
    data_dir: Path, ports: StackPorts = StackPorts(), *, log_level: str = "info"
) -> Stack:
    """The three roles' configs, wired to one another on loopback."""
    manager = ManagerServiceConfig.model_validate(
        {
            "server": {"ip": "0.0.0.0", "port": ports.manager},
            "dataDir": str(data_dir / "manager"),
            "logLevel": log_level,
        }
    )
    scheduler = SchedulerServiceConfig.model_validate(
        {
            "server": {"ip": "0.0.0.0", "port": ports.scheduler},
            "manager": {"addr": f"127.0.0.1:{ports.manager}"},
            "logLevel": log_level,
        }
    )
    daemon = parse_daemon_config(
        {
            "host": {"ip": "127.0.0.1"},
            "control": {"server": {"ip": "127.0.0.1", "port": ports.control}},
            "upload": {"server": {"ip": "0.0.0.0", "port": ports.upload}},
            "proxy": {"server": {"ip": "0.0.0.0", "port": ports.proxy}},
            "storage": {"dir": str(data_dir / "seed-peer")},
            "seedPeer": {"enable": True},
            "scheduler": {"addrs": [f"127.0.0.1:{ports.scheduler}"]},
            "logLevel": log_level,
        }
    )
    return Stack(data_dir, manager, scheduler, daemon)


async def first_token(stack: Stack) -> str:
    """The token ``swarmfly up`` hands out: made on first start, kept in ``<data>/token``."""
    path = stack.data_dir / TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    async with Database.open(stack.manager) as database:
        await UserStore(database).ensure_root(stack.manager.data_dir)
        created = await TokenStore(database).create(
            "swarmfly-up",
            parse_scopes(["job", "cluster"]),
            TOKEN_LIFETIME,
            "made by swarmfly up on first start",
        )
    stack.data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(created.value + "\n")
    return created.value


def root_password_file(stack: Stack) -> Path:
    return stack.manager.data_dir / ROOT_PASSWORD_FILE


async def run_stack(stack: Stack) -> None:
    """Serve the three roles until SIGTERM/SIGINT; the first to fail stops the others."""
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        for serve in (
            serve_manager(stack.manager, stop),
            serve_scheduler(stack.scheduler, stop),
            serve_daemon(stack.daemon, stop),
        ):
            task = group.create_task(serve)
            task.add_done_callback(lambda _: stop.set())
