"""Real registries for the registry client: docker-registry open, with htpasswd, with tokens.

A few tiny images are built and pushed with skopeo once per session (an OCI manifest under
several repositories, the same converted to Docker's media types, and a linux/amd64 +
linux/arm64 index in both formats). Each test runs its own registry process over a hard-linked
copy of that storage, and its own token server when it needs one; the client's clock is fake.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from swarmfly.registry import RegistryClient
from tests.conftest import require_binary
from tests.support import skopeo
from tests.support.images import Image, ImageIndex, OciLayout, random_layer, text_layer
from tests.support.registry import (
    Credentials,
    Registry,
    TokenAuth,
    clone_storage,
    start_registry,
)
from tests.support.token_server import SigningKey, TokenServer, running_token_server

TAG = "v1"
CREDENTIALS = Credentials("swarmfly", "pull-secret-1")

#: Where each image is pushed: repository -> (layout tag, all platforms, manifest format).
PUSHES: dict[str, tuple[str, bool, str | None]] = {
    "test/img": ("single", False, None),
    "test/deep/nested/img": ("single", False, None),
    "test/docker": ("single", False, "v2s2"),
    "test/multi": ("multi", True, None),
    "test/docker-multi": ("multi", True, "v2s2"),
}


@dataclass(frozen=True)
class RegistryImages:
    layout: OciLayout
    single: Image  # a random layer and a text layer
    multi: ImageIndex  # linux/amd64 + linux/arm64


@dataclass
class FakeClock:
    """The client's clock for token expiry; it moves only when a test moves it."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def registry_images(tmp_path_factory: pytest.TempPathFactory) -> RegistryImages:
    layout = OciLayout(tmp_path_factory.mktemp("registry-oci") / "layout")
    single = layout.add_image(
        "single", [random_layer(4096, seed=11), text_layer("etc/id", "single\n")]
    )
    per_arch = [
        layout.add_image(None, [text_layer("etc/arch", f"linux/{arch}\n")], arch=arch)
        for arch in ("amd64", "arm64")
    ]
    return RegistryImages(layout, single, layout.add_index("multi", per_arch))


@pytest.fixture(scope="session")
def pushed_storage(
    registry_images: RegistryImages, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A registry storage tree with every image of :data:`PUSHES` (pushed once, by skopeo)."""
    require_binary("docker-registry")
    require_binary("skopeo")
    root = tmp_path_factory.mktemp("registry-seed")

    async def seed() -> None:
        registry = await start_registry(root, root / "storage")
        try:
            await asyncio.gather(
                *(
                    skopeo.push(
                        registry_images.layout,
                        tag,
                        registry.reference(repository, TAG),
                        all_platforms=all_platforms,
                        manifest_format=manifest_format,
                    )
                    for repository, (tag, all_platforms, manifest_format) in PUSHES.items()
                )
            )
        finally:
            await registry.stop()

    asyncio.run(seed())
    return root / "storage"


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKey, SigningKey]:
    """Two token signing keys: the second is what a rotation switches to."""
    require_binary("openssl")
    root = tmp_path_factory.mktemp("token-keys")
    return SigningKey.generate(root, "first"), SigningKey.generate(root, "second")


StartRegistry = Callable[..., Awaitable[Registry]]


@pytest.fixture
async def start_test_registry(
    tmp_path: Path, pushed_storage: Path, request: pytest.FixtureRequest
) -> AsyncIterator[StartRegistry]:
    """``await start_test_registry("name", credentials=…, token=…)``: one holding the images."""
    started: list[Registry] = []

    async def start(
        name: str = "registry",
        credentials: Credentials | None = None,
        token: TokenAuth | None = None,
    ) -> Registry:
        if credentials is not None:
            require_binary("htpasswd")
        root = tmp_path / name
        storage = clone_storage(pushed_storage, root / "storage")
        registry = await start_registry(root, storage, credentials, token)
        started.append(registry)
        return registry

    yield start
    for registry in started:
        await registry.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for registry in started:
            sys.stderr.write(f"\n--- registry {registry.host} (log tail) ---\n{registry.tail()}\n")


@pytest.fixture
async def registry(start_test_registry: StartRegistry) -> Registry:
    return await start_test_registry()


@pytest.fixture
async def basic_registry(start_test_registry: StartRegistry) -> Registry:
    return await start_test_registry("basic-registry", credentials=CREDENTIALS)


@pytest.fixture
async def token_server(signing_keys: tuple[SigningKey, SigningKey]) -> AsyncIterator[TokenServer]:
    """A token server signing with the first key; tests change its knobs before use."""
    async with running_token_server(signing_keys[0]) as server:
        yield server


@pytest.fixture
async def token_registry(
    start_test_registry: StartRegistry, token_server: TokenServer, tmp_path: Path
) -> Registry:
    """A registry that takes only tokens from ``token_server``."""
    return await start_test_registry(
        "token-registry", token=token_server.auth(tmp_path / "token-bundle.crt")
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(clock: FakeClock) -> AsyncIterator[RegistryClient]:
    async with RegistryClient.open(clock=clock, request_timeout=10.0) as opened:
        yield opened
