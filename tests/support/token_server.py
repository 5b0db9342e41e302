"""A token server for a registry with token auth (``auth: token:``), run inside a test.

docker-registry sends clients without a token to ``realm`` with ``service`` and ``scope``; this
server answers ``GET /token?service=…&scope=repository:<name>:pull`` with a JWT the registry
accepts: signed RS256 with a key whose self-signed certificate is the registry's
``rootcertbundle``, the certificate carried in the header's ``x5c``. Keys, certificates and
signatures come from the ``openssl`` CLI, so the tests need no Python crypto library.

Knobs a test turns: ``users`` (Basic credentials it accepts), ``anonymous`` (tokens without
credentials), ``expires_in`` (what the answer claims), ``jwt_lifetime`` (what the registry
enforces, with its 60 s leeway), ``token_field`` (``token`` as Docker's servers say, or
OAuth2's ``access_token``), ``denied`` (repositories granted no actions: the registry then
answers ``insufficient_scope``) and ``signer`` (swap it, rewrite the bundle and restart the
registry to rotate the key). Every request is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from swarmfly.web.runner import serve_app
from tests.support.registry import TokenAuth

SERVICE = "swarmfly-registry"
ISSUER = "swarmfly-token-server"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    """An RSA key and its self-signed certificate (PEM files; the certificate also as DER)."""

    key: Path
    certificate: Path
    der: bytes

    @classmethod
    def generate(cls, directory: Path, name: str) -> SigningKey:
        directory.mkdir(parents=True, exist_ok=True)
        key, certificate = directory / f"{name}.key", directory / f"{name}.crt"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
            + ["-subj", f"/CN={name}", "-keyout", str(key), "-out", str(certificate)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        der = subprocess.run(
            ["openssl", "x509", "-in", str(certificate), "-outform", "DER"],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        return cls(key, certificate, der)

    async def jwt(self, claims: dict[str, object]) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.der).decode()]}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        process = await asyncio.create_subprocess_exec(
            "openssl",
            "dgst",
            "-sha256",
            "-sign",
            str(self.key),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        signature, _ = await process.communicate(signing_input.encode())
        assert process.returncode == 0, "openssl could not sign the token"
        return f"{signing_input}.{_b64url(signature)}"


@dataclass(frozen=True)
class TokenRequest:
    """One request as the token server saw and answered it."""

    service: str
    scope: str
    account: str
    user: str | None  # the Basic username sent, if any
    status: int


@dataclass
class TokenServer:
    signer: SigningKey
    users: dict[str, str] = field(default_factory=dict)
    anonymous: bool = True
    expires_in: int | None = 300
    jwt_lifetime: int = 300
    token_field: str = "token"
    denied: set[str] = field(default_factory=set)
    port: int = 0
    requests: list[TokenRequest] = field(default_factory=list)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def auth(self, bundle: Path) -> TokenAuth:
        """The registry's config for this server; ``bundle`` gets the signer's certificate."""
        self.trust(bundle)
        return TokenAuth(self.realm, SERVICE, ISSUER, bundle)

    def trust(self, bundle: Path) -> None:
        """Make ``bundle`` hold the current signer's certificate (restart the registry after)."""
        bundle.write_bytes(self.signer.certificate.read_bytes())

    @property
    def issued(self) -> int:
        return sum(1 for request in self.requests if request.status == 200)

    async def handle(self, request: web.Request) -> web.Response:
        user, status = self._authenticate(request.headers.get("Authorization"))
        scope = request.query.get("scope", "")
        self.requests.append(
            TokenRequest(
                request.query.get("service", ""),
                scope,
                request.query.get("account", ""),
                user,
                status,
            )
        )
        if status != 200:
            return web.json_response({"details": "incorrect username or password"}, status=status)
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user or "",
            "aud": request.query.get("service", ""),
            "exp": now + self.jwt_lifetime,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": self._access(scope),
        }
        answer: dict[str, object] = {self.token_field: await self.signer.jwt(claims)}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return web.json_response(answer)

    def _authenticate(self, header: str | None) -> tuple[str | None, int]:
        if header is None:
            return None, 200 if self.anonymous else 401
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None, 401
        username, _, password = base64.b64decode(value).decode().partition(":")
        return username, 200 if self.users.get(username) == password else 401

    def _access(self, scope: str) -> list[dict[str, object]]:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            return []
        granted = [] if name in self.denied else [a for a in actions.split(",") if a == "pull"]
        return [{"type": "repository", "name": name, "actions": granted}]


@asynccontextmanager
async def running_token_server(
    signer: SigningKey, **settings: object
) -> AsyncIterator[TokenServer]:
    """A token server on a loopback port, stopped on exit."""
    server = TokenServer(signer, **settings)  # type: ignore[arg-type]
    app = web.Application()
    app.router.add_get("/token", server.handle)
    async with serve_app(app, "127.0.0.1", 0, shutdown_timeout=1.0) as port:
        server.port = port
        yield server
