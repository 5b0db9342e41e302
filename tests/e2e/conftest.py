"""Real components for end-to-end tests: a registry, containerd, skopeo, and Swarmfly daemons.

Scopes follow cost and state. The image layouts and a registry storage tree with every test
image pushed are built once per session (immutable). Each test gets its own registry process
(over a hard-linked copy of that storage, with its own log), its own containerd (own root,
state, socket) and its own daemons. Every component logs to a file under the test's
``tmp_path``, and a failing test prints the tail of each.

A missing binary, or not being root for containerd, skips here and fails under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_binary, require_root
from tests.support import skopeo
from tests.support.containerd import Containerd
from tests.support.fake_registry import FakeRegistry, running_fake_registry
from tests.support.images import Image, ImageIndex, OciLayout, random_layer, text_layer
from tests.support.processes import Process, daemon_config, start_process
from tests.support.registry import (
    Credentials,
    Registry,
    clone_storage,
    start_registry,
)

MIB = 1 << 20
SMALL_REPOSITORY = "test/img"  # a slash in every repository name, on purpose
BIG_REPOSITORY = "test/big"
MULTI_REPOSITORY = "test/multi"
TAG = "v1"
CREDENTIALS = Credentials("swarmfly", "pull-secret-1")


@dataclass(frozen=True)
class ImageSet:
    """The session's images, each pushed to every test registry under ``<repo>:v1``."""

    layout: OciLayout
    small: Image  # three layers: 1 MiB, 64 MiB and a few bytes
    big: Image  # a 256 MiB layer and a few bytes
    multi: ImageIndex  # linux/amd64 + linux/arm64, each with a marker file of its arch


def build_image_set(root: Path) -> ImageSet:
    layout = OciLayout(root)
    small = layout.add_image(
        "small",
        [
            random_layer(1 * MIB, seed=1),
            random_layer(64 * MIB, seed=2),
            text_layer("etc/id", "small\n"),
        ],
    )
    big = layout.add_image("big", [random_layer(256 * MIB, seed=3), text_layer("etc/id", "big\n")])
    per_arch = [
        layout.add_image(
            None,
            [random_layer(1 * MIB, seed=4), text_layer("etc/arch", f"linux/{arch}\n")],
            arch=arch,
        )
        for arch in ("amd64", "arm64")
    ]
    multi = layout.add_index("multi", per_arch)
    return ImageSet(layout, small, big, multi)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> ImageSet:
    return build_image_set(tmp_path_factory.mktemp("oci") / "layout")


@pytest.fixture(scope="session")
def registry_storage(images: ImageSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry storage tree holding every image of the set (pushed once, with skopeo)."""
    require_binary("docker-registry")
    require_binary("skopeo")
    root = tmp_path_factory.mktemp("seed-registry")

    async def seed() -> None:
        registry = await start_registry(root, root / "storage")
        try:
            await skopeo.push(images.layout, "small", registry.reference(SMALL_REPOSITORY, TAG))
            await skopeo.push(images.layout, "big", registry.reference(BIG_REPOSITORY, TAG))
            await skopeo.push(
                images.layout,
                "multi",
                registry.reference(MULTI_REPOSITORY, TAG),
                all_platforms=True,
            )
        finally:
            await registry.stop()

    asyncio.run(seed())
    return root / "storage"


@dataclass
class ComponentLogs:
    """What each component of a test logged, printed (tail) when the test fails."""

    sources: list[tuple[str, Callable[[], str]]] = field(default_factory=list)

    def add(self, name: str, tail: Callable[[], str]) -> None:
        self.sources.append((name, tail))


@pytest.fixture
def component_logs(request: pytest.FixtureRequest) -> Iterator[ComponentLogs]:
    logs = ComponentLogs()
    yield logs
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for name, tail in logs.sources:
            sys.stderr.write(f"\n--- {name} (log tail) ---\n{tail()}\n")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


StartRegistry = Callable[..., Awaitable[Registry]]


@pytest.fixture
async def start_test_registry(
    tmp_path: Path, registry_storage: Path, component_logs: ComponentLogs
) -> AsyncIterator[StartRegistry]:
    """``await start_test_registry("name", credentials=None)``: a registry holding the set."""
    started: list[Registry] = []

    async def start(name: str = "registry", credentials: Credentials | None = None) -> Registry:
        if credentials is not None:
            require_binary("htpasswd")
        root = tmp_path / name
        storage = clone_storage(registry_storage, root / "storage")
        registry = await start_registry(root, storage, credentials)
        started.append(registry)
        component_logs.add(name, registry.tail)
        return registry

    yield start
    for registry in started:
        await registry.stop()


@pytest.fixture
async def registry(start_test_registry: StartRegistry) -> Registry:
    """An open registry holding the image set."""
    return await start_test_registry("registry")


@pytest.fixture
async def auth_registry(start_test_registry: StartRegistry) -> Registry:
    """A registry with htpasswd basic auth (``CREDENTIALS``) holding the image set."""
    return await start_test_registry("auth-registry", credentials=CREDENTIALS)


@pytest.fixture
async def fake_registry(images: ImageSet) -> AsyncIterator[FakeRegistry]:
    """The small image from a registry of our own, whose blobs can be made to go wrong
    (``faults``): for the failures Debian's registry never produces."""
    async with running_fake_registry(images.layout) as fake:
        fake.publish(SMALL_REPOSITORY, TAG, images.small)
        yield fake


@pytest.fixture
async def containerd(tmp_path: Path, component_logs: ComponentLogs) -> AsyncIterator[Containerd]:
    """A containerd of the test's own (root, state, socket), content isolated per namespace."""
    require_root()
    require_binary("containerd")
    require_binary("ctr")
    instance = Containerd(tmp_path / "containerd")
    component_logs.add("containerd", instance.tail)
    await instance.start()
    try:
        yield instance
    finally:
        await instance.stop()


@pytest.fixture
def hosts_dir(tmp_path: Path) -> Path:
    """An empty ``--hosts-dir`` for containerd (write it with ``tests.support.containerd``)."""
    path = tmp_path / "hosts.d"
    path.mkdir()
    return path


StartMirror = Callable[..., Awaitable[Process]]


@pytest.fixture
async def start_mirror(tmp_path: Path, component_logs: ComponentLogs) -> AsyncIterator[StartMirror]:
    """``await start_mirror(registry, "name", **sections)``: a daemon whose proxy mirrors
    ``registry`` (``proxy.registryMirror.addr``); its ready line carries ``proxy_port``."""
    started: list[Process] = []

    async def start(registry: Registry | str, name: str = "daemon", **sections: Any) -> Process:
        upstream = registry.url if isinstance(registry, Registry) else registry
        proxy = {
            "server": {"ip": "127.0.0.1", "port": 0},
            "registryMirror": {"addr": upstream},
            **sections.pop("proxy", {}),
        }
        root = tmp_path / name
        config = daemon_config(root, proxy=proxy, **sections)
        process = await start_process(name, ["daemon", "--config", str(config)], root / "log.txt")
        started.append(process)
        component_logs.add(name, lambda: "\n".join(process.log_text().splitlines()[-60:]))
        if "proxy_port" not in process.ready:
            # Before the proxy package existed the daemon served no proxy port; once it
            # exists, a ready line without the port is a failure, never a silent skip.
            assert find_spec("swarmfly.daemon.proxy") is None, (
                f"the daemon's ready line has no proxy_port: {process.ready}"
            )
            pytest.skip("the daemon has no proxy yet (no proxy_port in its ready line)")
        return process

    yield start
    for process in started:
        await process.stop()
