"""skopeo as the test's push tool and as a second pull client (containers/image).

Gotchas on skopeo 1.9.3: it ignores ``CONTAINERS_REGISTRIES_CONF`` (the hidden global flag
``--registries-conf`` works); through a mirror it sends no ``?ns=`` and starts with
``GET /v2/``; it sends repeated ``Accept`` header lines that a proxy must keep.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.commands import CommandResult, run
from tests.support.images import OciLayout
from tests.support.registry import Credentials

SKOPEO_TIMEOUT = 180.0


def _global_flags(registries_conf: Path | None) -> list[str]:
    flags = ["skopeo", "--insecure-policy"]
    if registries_conf is not None:
        flags += ["--registries-conf", str(registries_conf)]
    return flags


async def push(
    layout: OciLayout,
    tag: str,
    destination: str,
    *,
    all_platforms: bool = False,
    credentials: Credentials | None = None,
    manifest_format: str | None = None,
) -> None:
    """``skopeo copy oci:<layout>:<tag> docker://<destination>`` over plain http.

    ``manifest_format="v2s2"`` converts to Docker's media types (manifest list included).
    """
    args = [*_global_flags(None), "copy", "--dest-tls-verify=false"]
    if all_platforms:
        args.append("--all")
    if manifest_format is not None:
        args += ["--format", manifest_format]
    if credentials is not None:
        args += ["--dest-creds", credentials.pair]
    args += [layout.reference(tag), f"docker://{destination}"]
    (await run(args, SKOPEO_TIMEOUT)).check()


async def inspect(
    reference: str,
    *,
    arch: str | None = None,
    raw: bool = False,
    credentials: Credentials | None = None,
    registries_conf: Path | None = None,
) -> dict[str, Any]:
    """``skopeo inspect docker://<reference>`` as JSON (``raw``: the manifest itself)."""
    args = [*_global_flags(registries_conf), "inspect", "--tls-verify=false"]
    if arch is not None:
        args += ["--override-arch", arch, "--override-os", "linux"]
    if raw:
        args.append("--raw")
    if credentials is not None:
        args += ["--creds", credentials.pair]
    args.append(f"docker://{reference}")
    result = (await run(args, SKOPEO_TIMEOUT)).check()
    document: dict[str, Any] = json.loads(result.stdout)
    return document


async def copy_to_layout(
    reference: str,
    destination: Path,
    tag: str = "pulled",
    *,
    registries_conf: Path | None = None,
    credentials: Credentials | None = None,
    arch: str | None = None,
) -> CommandResult:
    """Pull ``docker://<reference>`` into an OCI layout (blobs land digest-named)."""
    args = [*_global_flags(registries_conf), "copy", "--src-tls-verify=false"]
    if arch is not None:
        args += ["--override-arch", arch, "--override-os", "linux"]
    if credentials is not None:
        args += ["--src-creds", credentials.pair]
    args += [f"docker://{reference}", f"oci:{destination}:{tag}"]
    return await run(args, SKOPEO_TIMEOUT)


def write_registries_conf(path: Path, registry: str, mirror: str) -> Path:
    """A registries.conf that sends pulls of ``registry`` to ``mirror`` (both host:port, http)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "unqualified-search-registries = []\n\n"
        "[[registry]]\n"
        f"location = {json.dumps(registry)}\n"
        "insecure = true\n\n"
        "[[registry.mirror]]\n"
        f"location = {json.dumps(mirror)}\n"
        "insecure = true\n"
    )
    return path
