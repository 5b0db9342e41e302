"""The auth dance against a scripted registry and token realm: answers, refusals, the cache."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from swarmfly.registry import (
    Credentials,
    RegistryClient,
    RegistryStatusError,
    RegistryUnavailable,
    Unauthorized,
)
from tests.support.service import free_port
from tests.unit.registry.conftest import (
    FakeClock,
    FakeRegistry,
    Handler,
    StartRegistry,
    fake_digest,
    manifest_bytes,
    serve_bytes,
)

MANIFEST = manifest_bytes(fake_digest(1), [fake_digest(2)])
SECRET = "hunter2-secret"


@dataclass
class Realm:
    """A token realm and a registry that takes only the tokens it issued."""

    answer: dict[str, object] = field(default_factory=lambda: {"expires_in": 120})
    field_name: str = "token"
    issued: list[str] = field(default_factory=list)
    asked: list[dict[str, str]] = field(default_factory=list)
    realm: str = ""

    async def token(self, request: web.Request) -> web.StreamResponse:
        self.asked.append(dict(request.query) | {"auth": request.headers.get("Authorization", "")})
        value = f"tok-{len(self.issued)}"
        self.issued.append(value)
        return web.json_response({self.field_name: value} | self.answer)

    def protect(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if request.headers.get("Authorization", "").removeprefix("Bearer ") in self.issued:
                return await handler(request)
            challenge = f'Bearer realm="{self.realm}",service="fake"'
            return web.json_response(
                {"errors": [{"code": "UNAUTHORIZED", "message": "token wanted"}]},
                status=401,
                headers={"WWW-Authenticate": challenge},
            )

        return guarded


async def start_realm(fake: FakeRegistry, started: StartRegistry, realm: Realm) -> Realm:
    fake.route("/token", realm.token)
    fake.route("/v2/{name:.+}/manifests/{reference}", realm.protect(serve_bytes(MANIFEST)))
    await started(fake)
    realm.realm = realm.realm or fake.url("/token")
    return realm


async def test_a_token_without_expires_in_lives_sixty_seconds(
    client: RegistryClient, fake: FakeRegistry, started: StartRegistry
) -> None:
    realm = await start_realm(fake, started, Realm(answer={}, field_name="access_token"))

    resolved = await client.resolve_image(fake.url("/v2/team/app/manifests/v1"))

    assert resolved.token_expires_in == 60
    assert resolved.headers_for_blobs == {"Authorization": "Bearer tok-0"}
    assert realm.asked == [{"scope": "repository:team/app:pull", "service": "fake", "auth": ""}]


async def test_tokens_are_kept_per_repository_and_per_credentials(
    client: RegistryClient, fake: FakeRegistry, started: StartRegistry
) -> None:
    realm = await start_realm(fake, started, Realm())
    for repository, username in [("a", None), ("b", None), ("a", "x"), ("a", "y"), ("a", "x")]:
        url = fake.url(f"/v2/{repository}/manifests/v1")
        await client.resolve_image(url, username=username, password=SECRET)

    assert len(realm.issued) == 4
    basic = "Basic " + base64.b64encode(f"x:{SECRET}".encode()).decode()
    assert realm.asked[2] == {
        "scope": "repository:a:pull",
        "service": "fake",
        "account": "x",
        "auth": basic,
    }


async def test_a_registry_that_refuses_a_fresh_token_is_unauthorized(
    client: RegistryClient, fake: FakeRegistry, started: StartRegistry
) -> None:
    realm, guard = Realm(), Realm()  # the guard knows none of the tokens the realm issues
    fake.route("/token", realm.token)
    fake.route("/v2/a/manifests/v1", guard.protect(serve_bytes(MANIFEST)))
    await started(fake)
    guard.realm = fake.url("/token")

    with pytest.raises(Unauthorized, match="none given") as anonymous:
        await client.resolve_image(fake.url("/v2/a/manifests/v1"))
    with pytest.raises(Unauthorized, match="refused the credentials") as refused:
        await client.resolve_image(fake.url("/v2/a/manifests/v1"), username="u", password=SECRET)

    assert anonymous.value.reason == refused.value.reason == "token wanted"


@pytest.mark.parametrize(
    ("realm", "answer", "error"),
    [
        ("ftp://example.com/token", None, RegistryStatusError),
        ("/token", None, RegistryStatusError),
        (None, {"expires_in": 60}, RegistryStatusError),  # no token in the answer
        (None, {"token": 5}, RegistryStatusError),  # not a token document
        (f"http://127.0.0.1:{free_port()}/token", None, RegistryUnavailable),
    ],
)
async def test_unusable_realms_and_answers(
    client: RegistryClient,
    fake: FakeRegistry,
    started: StartRegistry,
    realm: str | None,
    answer: dict[str, object] | None,
    error: type[Exception],
) -> None:
    async def token(request: web.Request) -> web.StreamResponse:
        return web.json_response(answer)

    guard = Realm(realm=realm or "")
    fake.route("/token", token)
    fake.route("/v2/a/manifests/v1", guard.protect(serve_bytes(MANIFEST)))
    await started(fake)
    guard.realm = realm or fake.url("/token")

    with pytest.raises(error):
        await client.resolve_image(fake.url("/v2/a/manifests/v1"))


@pytest.mark.parametrize(
    ("challenge", "username", "match"),
    [
        ("Negotiate", "u", "auth scheme we do not speak"),
        ('Basic realm="r"', None, "needs credentials"),
        (None, "u", "auth scheme we do not speak"),  # a 401 with no challenge at all
    ],
)
async def test_challenges_we_cannot_answer(
    client: RegistryClient,
    fake: FakeRegistry,
    started: StartRegistry,
    challenge: str | None,
    username: str | None,
    match: str,
) -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        headers = {"WWW-Authenticate": challenge} if challenge else {}
        return web.Response(status=401, headers=headers)

    fake.route("/v2/a/manifests/v1", refuse)
    await started(fake)

    with pytest.raises(Unauthorized, match=match):
        await client.resolve_image(
            fake.url("/v2/a/manifests/v1"), username=username, password=SECRET
        )


async def test_blob_headers_on_an_open_registry_ask_once_and_carry_no_authorization(
    client: RegistryClient, fake: FakeRegistry, started: StartRegistry
) -> None:
    fake.route("/v2/a/manifests/v1", serve_bytes(MANIFEST))
    await started(fake)

    headers = await client.blob_headers(fake.url("/v2/a/manifests/v1"), headers={"X-A": "1"})

    assert headers == {"X-A": "1"}
    assert [(seen.method, seen.path) for seen in fake.requests] == [("HEAD", "/v2/a/manifests/v1")]


async def test_secrets_stay_out_of_logs_and_reprs(
    client: RegistryClient,
    fake: FakeRegistry,
    started: StartRegistry,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await start_realm(fake, started, Realm(answer={"expires_in": 30}))
    caplog.set_level(logging.DEBUG, logger="swarmfly.registry")
    url = fake.url("/v2/a/manifests/v1")

    resolved = await client.resolve_image(url, username="u", password=SECRET)
    clock.advance(31)
    await client.blob_headers(url, username="u", password=SECRET)

    logged = " ".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)
    assert "image resolved" in logged
    for secret in (SECRET, "tok-0", "tok-1"):
        assert secret not in logged
    assert "tok-0" not in repr(resolved)
    assert SECRET not in repr(Credentials("u", SECRET))
