"""Debian's ``docker-registry`` (the CNCF distribution registry) run by a test, and its log.

The registry gets its own config, storage and log file; it listens on a free loopback port
and is ready once it logs ``listening on`` and answers ``GET /v2/``.

Its JSON log has one ``response completed`` entry per request (method, URI, status, bytes
written, user agent), written just after the response. A request refused for want of
credentials gets an ``error authorizing context`` entry instead, with no status: a 401.
``requests()`` parses them, and ``barrier()`` makes sure every request a client has seen
answered is in the log before a test counts (it sends a marked request and waits for it).

Auth is htpasswd (Basic, ``credentials``) or token auth (``token``: Bearer tokens from a token
server, see ``tests.support.token_server``).

Storage is cheap to copy: ``clone_storage`` hard-links a seeded storage tree (the registry
never rewrites a blob in place), so each test can run its own registry over images pushed
once per session.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import yaml

from tests.support.commands import run
from tests.support.service import Service, free_port

PORT_ATTEMPTS = 3
_REFUSED = "error authorizing context"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    @property
    def pair(self) -> str:
        """``user:pass``, as ``ctr --user`` and ``skopeo --creds`` take them."""
        return f"{self.username}:{self.password}"

    @property
    def basic(self) -> str:
        """The value of an ``Authorization`` header."""
        return "Basic " + base64.b64encode(self.pair.encode()).decode()


@dataclass(frozen=True)
class RegistryRequest:
    """One request as the registry logged it after answering."""

    method: str
    uri: str  # path and query, as sent
    status: int
    written: int  # body bytes sent
    user_agent: str

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def is_blob_get(self) -> bool:
        return self.method == "GET" and "/blobs/" in self.path

    @property
    def digest(self) -> str | None:
        """The digest of a ``/blobs/`` or ``/manifests/<digest>`` request."""
        last = self.path.rsplit("/", 1)[-1]
        return last if ":" in last else None


def parse_request(line: str) -> RegistryRequest | None:
    """The request in a JSON log line, or None for any other line."""
    if not line.startswith("{"):
        return None
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return None
    if "http.request.method" not in entry:
        return None
    if "http.response.status" in entry:
        status = int(entry["http.response.status"])
    elif str(entry.get("msg", "")).startswith(_REFUSED):
        status = 401  # the registry logs a refused request this way, with no status
    else:
        return None  # "authorized request" and other lines about a request still running
    return RegistryRequest(
        method=entry["http.request.method"],
        uri=entry["http.request.uri"],
        status=status,
        written=int(entry.get("http.response.written", 0)),
        user_agent=entry.get("http.request.useragent", ""),
    )


@dataclass(frozen=True)
class TokenAuth:
    """The registry's ``auth: token:`` section: whom it sends clients to, and whom it trusts.

    The registry reads ``rootcertbundle`` when it starts; rewrite the file and restart it to
    rotate the signing key.
    """

    realm: str  # the token server's URL
    service: str
    issuer: str
    rootcertbundle: Path


class Registry:
    """A running registry; ``stop()``/``start()`` restart it on the same port."""

    def __init__(
        self,
        root: Path,
        storage: Path,
        credentials: Credentials | None = None,
        token: TokenAuth | None = None,
    ) -> None:
        self.root = root
        self.storage = storage
        self.credentials = credentials
        self.token = token
        self.port = 0
        self.service: Service | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``: the registry part of an image reference, and ``?ns=``."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def log_path(self) -> Path:
        return self.root / "registry.log"

    def reference(self, repository: str, tag: str) -> str:
        return f"{self.host}/{repository}:{tag}"

    async def start(self) -> None:
        """Start (again); a first start picks a free port, a restart keeps the port."""
        attempts = 1 if self.port else PORT_ATTEMPTS
        for attempt in range(attempts):
            if not self.port or attempt:
                self.port = free_port()
            config = self._write_config()
            self.service = Service(
                "registry", ["docker-registry", "serve", str(config)], self.log_path
            )
            try:
                await self.service.start(lambda line: f"listening on {self.host}" in line)
            except RuntimeError:
                if attempt + 1 < attempts and "address already in use" in self.service.tail():
                    continue
                raise
            break
        await self._check_answers()

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()

    async def kill(self) -> None:
        if self.service is not None:
            await self.service.kill()

    def tail(self) -> str:
        return self.service.tail() if self.service is not None else ""

    def mark(self) -> int:
        """A position in this run's log; pass it as ``since`` to see only later requests."""
        return len(self.service.lines) if self.service is not None else 0

    def requests(self, since: int = 0) -> list[RegistryRequest]:
        if self.service is None:
            return []
        parsed = (parse_request(line) for line in self.service.lines[since:])
        return [request for request in parsed if request is not None]

    def blob_gets(self, digest: str | None = None, since: int = 0) -> list[RegistryRequest]:
        """``GET /v2/<repo>/blobs/<digest>`` requests, of one digest or all."""
        return [
            request
            for request in self.requests(since)
            if request.is_blob_get and (digest is None or request.digest == digest)
        ]

    def blob_get_counts(self, since: int = 0) -> Counter[str]:
        """Successful blob GETs (2xx) per digest."""
        return Counter(
            request.digest
            for request in self.blob_gets(since=since)
            if request.digest is not None and 200 <= request.status < 300
        )

    async def barrier(self, timeout: float = 10.0) -> None:
        """Return once every request answered before this call is in the log."""
        assert self.service is not None
        token = uuid.uuid4().hex
        url = f"{self.url}/v2/?barrier={token}"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            await response.read()
        await self.service.wait_for_line(lambda line: token in line, timeout)

    async def _check_answers(self) -> None:
        async with aiohttp.ClientSession() as session, session.get(f"{self.url}/v2/") as reply:
            expected = 401 if self.credentials or self.token else 200
            assert reply.status == expected, f"GET /v2/ answered {reply.status}:\n{self.tail()}"

    def _write_config(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "json", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "secret": "swarmfly-tests"},
        }
        if self.credentials is not None:
            config["auth"] = {
                "htpasswd": {"realm": "swarmfly-tests", "path": str(self.root / "htpasswd")}
            }
        elif self.token is not None:
            config["auth"] = {
                "token": {
                    "realm": self.token.realm,
                    "service": self.token.service,
                    "issuer": self.token.issuer,
                    "rootcertbundle": str(self.token.rootcertbundle),
                }
            }
        path = self.root / "config.yml"
        path.write_text(yaml.safe_dump(config))
        return path


async def write_htpasswd(path: Path, credentials: Credentials) -> None:
    """``htpasswd -Bbn``: a bcrypt entry, the only kind the registry accepts."""
    result = await run(["htpasswd", "-Bbn", credentials.username, credentials.password], timeout=30)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.check().stdout.strip() + "\n")


async def start_registry(
    root: Path,
    storage: Path,
    credentials: Credentials | None = None,
    token: TokenAuth | None = None,
) -> Registry:
    """A running registry over ``storage``: htpasswd basic auth when ``credentials``, token
    auth when ``token``, open otherwise."""
    storage.mkdir(parents=True, exist_ok=True)
    registry = Registry(root, storage, credentials, token)
    if credentials is not None:
        await write_htpasswd(root / "htpasswd", credentials)
    await registry.start()
    return registry


def clone_storage(source: Path, destination: Path) -> Path:
    """Hard-link copy of a registry storage tree (cheap; blobs are never written in place)."""
    shutil.copytree(source, destination, copy_function=os.link)
    return destination
