"""Fixtures for the proxy: a registry double, a daemon whose proxy mirrors it, a client."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from tests.conftest import require_root
from tests.integration.conftest import StartDaemon
from tests.integration.proxy.registry_double import RegistryDouble, running_registry
from tests.support.processes import Process


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[RegistryDouble]:
    async with running_registry(tmp_path / "registry") as served:
        yield served


@dataclass
class Proxy:
    """A running daemon, seen from a client of its proxy port."""

    daemon: Process
    registry: RegistryDouble

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.daemon.port('proxy_port')}"

    @property
    def port(self) -> int:
        return self.daemon.port("proxy_port")

    def mirror(self, path: str, *, ns: str | None = "registry") -> URL:
        """``path`` on the mirror, with containerd's URL-encoded ``?ns=`` (the double's host)."""
        query = ""
        if ns is not None:
            host = self.registry.host if ns == "registry" else ns
            query = "?ns=" + host.replace(":", "%3A")
        return URL(f"{self.url}{path}{query}", encoded=True)

    async def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.daemon.port('control_port')}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return await response.text()

    async def metric(self, line_prefix: str) -> float:
        """The value of the first sample line starting with ``line_prefix`` (0 if none)."""
        for line in (await self.metrics()).splitlines():
            if line.startswith(line_prefix):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


StartProxy = Callable[..., Awaitable[Proxy]]


@pytest.fixture
def start_proxy(start_daemon: StartDaemon, registry: RegistryDouble) -> StartProxy:
    """``await start_proxy(proxy={...})``: a daemon whose mirror default is the double."""

    async def start(name: str = "daemon", **sections: Any) -> Proxy:
        proxy = {
            "server": {"ip": "127.0.0.1", "port": 0},
            "registryMirror": {"addr": registry.url},
            **sections.pop("proxy", {}),
        }
        daemon = await start_daemon(name, proxy=proxy, **sections)
        return Proxy(daemon, registry)

    return start


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that keeps bytes as they are and never uses environment proxies."""
    async with aiohttp.ClientSession(auto_decompress=False, trust_env=False) as session:
        yield session


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs: too small for the blobs the tests push through it."""
    require_root()
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
