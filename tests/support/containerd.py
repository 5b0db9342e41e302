"""containerd run by a test, driven with ``ctr``, pulling through ``hosts.toml`` mirrors.

Each containerd has its own root (content store, snapshots), state and socket; CRI is off,
and ``content_sharing_policy = "isolated"`` so that a namespace never sees blobs another
namespace fetched (by default containerd shares them, and a "second pull" downloads nothing).

What containerd 1.6 does that a test must allow for:

- A ``hosts.toml`` without any ``[host]`` table is rejected (silently, without ``--debug``);
  the writers here always emit one.
- When a mirror fails, containerd silently tries the next host, ending with ``server``. The
  exit status proves nothing: ``CtrResult.requests()`` (from ``ctr --debug``) says which host
  each request went to.
- Mirrors get ``?ns=<registry host>`` on every request; the ``server`` never does.
- A failed download stays as an ingest that the next fetch resumes (with ``Range``), even a
  complete one whose digest did not match: ``abort_ingests()`` before a clean retry.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.support.commands import CommandResult, run
from tests.support.registry import Credentials
from tests.support.service import Service

CTR_TIMEOUT = 180.0
PULL_CAPABILITIES = ("pull", "resolve")
_LOGFMT = re.compile(r'([\w.\-]+)=("(?:[^"\\]|\\.)*"|\S*)')


def _logfmt(line: str) -> dict[str, str]:
    fields = {}
    for key, value in _LOGFMT.findall(line):
        fields[key] = json.loads(value) if value.startswith('"') else value
    return fields


@dataclass(frozen=True)
class CtrRequest:
    """One HTTP request ctr sent, from its ``--debug`` log (``msg="do request"``)."""

    method: str
    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def ns(self) -> str | None:
        values = parse_qs(urlsplit(self.url).query).get("ns")
        return values[0] if values else None

    @property
    def is_blob(self) -> bool:
        return "/blobs/" in self.path

    @property
    def digest(self) -> str | None:
        last = self.path.rsplit("/", 1)[-1]
        return last if ":" in last else None


@dataclass(frozen=True)
class CtrResponse:
    """A response ctr received (``msg="fetch response received"``): headers are lowercase."""

    url: str
    status: int
    headers: Mapping[str, str]

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def digest(self) -> str | None:
        last = urlsplit(self.url).path.rsplit("/", 1)[-1]
        return last if ":" in last else None

    @property
    def is_blob(self) -> bool:
        return "/blobs/" in urlsplit(self.url).path


@dataclass(frozen=True)
class CtrResult:
    command: CommandResult

    @property
    def ok(self) -> bool:
        return self.command.ok

    def describe(self) -> str:
        return self.command.describe()

    def check(self) -> CtrResult:
        assert self.ok, self.describe()
        return self

    def requests(self) -> list[CtrRequest]:
        """Every request, in order (needs ``debug=True``, the default)."""
        found = []
        for line in self.command.stderr.splitlines():
            if 'msg="do request"' in line:
                fields = _logfmt(line)
                found.append(CtrRequest(fields.get("request.method", ""), fields.get("url", "")))
        return found

    def responses(self) -> list[CtrResponse]:
        """Every response ctr read the headers of (needs ``debug=True``)."""
        found = []
        prefix = "response.header."
        for line in self.command.stderr.splitlines():
            if 'msg="fetch response received"' in line:
                fields = _logfmt(line)
                found.append(
                    CtrResponse(
                        url=fields.get("url", ""),
                        status=int(fields.get("response.status", "0").split()[0] or 0),
                        headers={
                            k.removeprefix(prefix): v
                            for k, v in fields.items()
                            if k.startswith(prefix)
                        },
                    )
                )
        return found

    def blob_hosts(self) -> dict[str, set[str]]:
        """digest -> the hosts ctr asked for that blob (more than one: it fell back)."""
        hosts: dict[str, set[str]] = {}
        for request in self.requests():
            if request.is_blob and request.digest is not None:
                hosts.setdefault(request.digest, set()).add(request.host)
        return hosts

    def fallbacks(self) -> list[str]:
        """The lines where ctr gave up on a host and tried the next one."""
        return [line for line in self.command.stderr.splitlines() if "trying next host" in line]


class Containerd:
    """A running containerd; its socket and state sit in a short directory under /tmp.

    (A unix socket path must fit in 108 bytes, which a pytest ``tmp_path`` may not.)
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.run_dir = Path(tempfile.mkdtemp(prefix="sf-ctrd-", dir="/tmp"))
        self.address = str(self.run_dir / "containerd.sock")
        self.service = Service("containerd", [], root / "containerd.log")

    @property
    def content_dir(self) -> Path:
        return self.root / "root" / "io.containerd.content.v1.content"

    def blob_files(self) -> list[Path]:
        """Every committed blob file, in every namespace (the files are shared underneath)."""
        return sorted(p for p in self.content_dir.glob("blobs/*/*") if p.is_file())

    def blob_file(self, digest: str) -> Path:
        """Where a committed blob lives (containerd verified its digest when it committed)."""
        algorithm, hex_digest = digest.split(":", 1)
        return self.content_dir / "blobs" / algorithm / hex_digest

    def tail(self, lines: int = 40) -> str:
        """The end of containerd's log without its start-up chatter (one line per plugin)."""
        text = (
            self.service.log_path.read_text(errors="replace")
            if self.service.log_path.exists()
            else ""
        )
        kept = [line for line in text.splitlines() if "loading plugin" not in line]
        return "\n".join(kept[-lines:])

    async def start(self) -> None:
        config = self._write_config()
        self.service.args = ["containerd", "--config", str(config)]
        await self.service.start(lambda line: "containerd successfully booted" in line)
        (await self.ctr("version", debug=False)).check()

    async def stop(self) -> None:
        try:
            await self.service.stop()
        finally:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    async def ctr(
        self,
        *args: str,
        namespace: str = "default",
        debug: bool = True,
        timeout: float = CTR_TIMEOUT,
    ) -> CtrResult:
        command = ["ctr", "--address", self.address, "--namespace", namespace]
        if debug:
            command.append("--debug")
        return CtrResult(await run([*command, *args], timeout))

    async def fetch(
        self,
        reference: str,
        *,
        hosts_dir: Path | None,
        namespace: str = "default",
        credentials: Credentials | None = None,
        platform: str | None = None,
        all_platforms: bool = False,
        timeout: float = CTR_TIMEOUT,
    ) -> CtrResult:
        """``ctr content fetch``: every blob of the image, no unpack."""
        args = ["content", "fetch", *self._pull_flags(hosts_dir, credentials, platform)]
        if all_platforms:
            args.append("--all-platforms")
        return await self.ctr(*args, reference, namespace=namespace, timeout=timeout)

    async def pull(
        self,
        reference: str,
        *,
        hosts_dir: Path | None,
        namespace: str = "default",
        credentials: Credentials | None = None,
        platform: str | None = None,
        timeout: float = CTR_TIMEOUT,
    ) -> CtrResult:
        """``ctr images pull``: fetch, then unpack into the overlayfs snapshotter."""
        args = ["images", "pull", *self._pull_flags(hosts_dir, credentials, platform)]
        return await self.ctr(*args, reference, namespace=namespace, timeout=timeout)

    async def content_digests(self, namespace: str = "default") -> set[str]:
        """The blobs committed in a namespace (``ctr content ls -q``)."""
        result = (await self.ctr("content", "ls", "-q", namespace=namespace, debug=False)).check()
        return set(result.command.stdout.split())

    async def active_ingests(self, namespace: str = "default") -> list[str]:
        """Downloads in progress or abandoned part-way (``ctr content active``)."""
        result = (await self.ctr("content", "active", namespace=namespace, debug=False)).check()
        return result.command.stdout.splitlines()[1:]

    def abort_ingests(self) -> None:
        """Drop every partial or failed download (containerd's ``Abort``; ctr 1.6 has none).

        Call it only while no ctr runs. A blob whose bytes all arrived but failed the digest
        check stays as a full ingest, and the next fetch of that blob retries the commit
        without downloading anything, failing again until containerd's GC happens to run.
        """
        ingests = self.content_dir / "ingest"
        if ingests.is_dir():
            for ingest in ingests.iterdir():
                shutil.rmtree(ingest, ignore_errors=True)  # containerd's GC may race us

    async def forget(self, namespace: str = "default") -> None:
        """Remove every image and blob from a namespace, so the next pull downloads again."""
        images = await self.ctr("images", "ls", "-q", namespace=namespace, debug=False)
        names = images.check().command.stdout.split()
        if names:
            (await self.ctr("images", "rm", *names, namespace=namespace, debug=False)).check()
        digests = await self.content_digests(namespace)
        if digests:
            await self.ctr("content", "rm", *sorted(digests), namespace=namespace, debug=False)
        left = await self.content_digests(namespace)
        assert not left, f"containerd kept content after rm: {sorted(left)}"

    def _pull_flags(
        self, hosts_dir: Path | None, credentials: Credentials | None, platform: str | None
    ) -> list[str]:
        flags = []
        if hosts_dir is not None:
            flags += ["--hosts-dir", str(hosts_dir)]
        else:
            flags.append("--plain-http")
        if credentials is not None:
            flags += ["--user", credentials.pair]
        if platform is not None:
            flags += ["--platform", platform]
        return flags

    def _write_config(self) -> Path:
        def quoted(path: Path | str) -> str:
            return json.dumps(str(path))

        text = f"""version = 2
root = {quoted(self.root / "root")}
state = {quoted(self.run_dir / "state")}
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = {quoted(self.address)}

[ttrpc]
  address = {quoted(self.address + ".ttrpc")}

[debug]
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = {quoted(self.root / "opt")}

[plugins."io.containerd.metadata.v1.bolt"]
  content_sharing_policy = "isolated"
"""
        tomllib.loads(text)
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "config.toml"
        path.write_text(text)
        return path


def write_hosts_toml(
    hosts_dir: Path,
    namespace: str,
    *,
    mirror: str,
    server: str | None = None,
    header: Mapping[str, Sequence[str]] | None = None,
    capabilities: Sequence[str] = PULL_CAPABILITIES,
) -> Path:
    """``<hosts_dir>/<namespace>/hosts.toml`` with one mirror ``[host]`` entry.

    ``namespace`` is a registry host (``127.0.0.1:5000``) or ``_default`` (every registry
    without a directory of its own). ``mirror`` and ``server`` are URLs with a scheme.
    """
    lines = []
    if server is not None:
        lines.append(f"server = {json.dumps(server)}")
        lines.append("")
    lines.append(f"[host.{json.dumps(mirror)}]")
    lines.append(f"  capabilities = {json.dumps(list(capabilities))}")
    if header:
        pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(list(v))}" for k, v in header.items())
        lines.append(f"  header = {{ {pairs} }}")
    text = "\n".join(lines) + "\n"
    parsed = tomllib.loads(text)
    assert mirror in parsed["host"], text
    directory = hosts_dir / namespace
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "hosts.toml"
    path.write_text(text)
    return path


def default_mirror_hosts(hosts_dir: Path, mirror: str) -> Path:
    """The catch-all style: ``_default/hosts.toml``; the mirror learns the registry from ?ns=."""
    return write_hosts_toml(hosts_dir, "_default", mirror=mirror)


def registry_mirror_hosts(hosts_dir: Path, registry: str, mirror: str) -> Path:
    """The per-registry style, as Dragonfly documents it: the mirror first, the registry as
    ``server`` (containerd falls back to it), and ``X-Dragonfly-Registry`` naming the upstream.

    ``registry`` is ``host:port`` (served over plain http).
    """
    return write_hosts_toml(
        hosts_dir,
        registry,
        mirror=mirror,
        server=f"http://{registry}",
        header={"X-Dragonfly-Registry": [f"http://{registry}"]},
    )
