"""Tokens: how a request's token is read, which 403 a known token gets, and the store on a
real database (hash only, revoke, expiry by the clock, last use recorded sparingly)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from swarmfly.errors import Conflict, InvalidInput
from swarmfly.manager.database import Database
from swarmfly.manager.errors import (
    ScopeMissing,
    TokenExpired,
    TokenInactive,
    TokenNotFound,
    Unauthorized,
)
from swarmfly.manager.models import PersonalAccessToken
from swarmfly.manager.openapi.auth import bearer_token, scope_for
from swarmfly.manager.tokens import (
    Scope,
    TokenInfo,
    TokenStore,
    check_token,
    parse_scopes,
    token_hash,
)
from tests.unit.scheduler.sample import FakeClock

NOW = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "query", "token"),
    [
        ("Bearer abc", None, "abc"),
        ("bearer abc", None, "abc"),
        ("BEARER  abc ", None, "abc"),
        (None, "abc", "abc"),
        ("Bearer abc", "other", "abc"),
    ],
)
def test_bearer_token(header: str | None, query: str | None, token: str) -> None:
    assert bearer_token(header, query) == token


@pytest.mark.parametrize(
    ("header", "query"),
    [
        (None, None),
        (None, ""),
        ("", "abc"),
        ("Bearer", None),
        ("Bearer a b", None),
        ("Basic abc", None),
        ("Token abc", None),
        ("abc", None),
    ],
)
def test_no_or_malformed_token_is_unauthorized(header: str | None, query: str | None) -> None:
    with pytest.raises(Unauthorized, match="^Unauthorized$"):
        bearer_token(header, query)


def test_scope_for() -> None:
    assert scope_for("/oapi/v1/jobs", "/oapi/v1") is Scope.JOB
    assert scope_for("/oapi/v1/jobs/7", "/oapi/v1") is Scope.JOB
    assert scope_for("/oapi/v1/clusters", "/oapi/v1") is Scope.CLUSTER
    assert scope_for("/oapi/v1/other", "/oapi/v1") is None


def _info(
    state: str = "active",
    expires: timedelta = timedelta(days=1),
    scopes: tuple[str, ...] = ("job",),
) -> TokenInfo:
    return TokenInfo(1, "t", scopes, state, NOW + expires, None, NOW, None)


def test_check_token_order() -> None:
    check_token(_info(), Scope.JOB, NOW)
    with pytest.raises(TokenInactive, match="^Token is inactive$"):
        check_token(_info(state="inactive", expires=-timedelta(days=1)), Scope.JOB, NOW)
    with pytest.raises(TokenExpired, match="^Token has expired$"):
        check_token(_info(expires=timedelta(0)), Scope.JOB, NOW)
    with pytest.raises(ScopeMissing, match="'cluster'"):
        check_token(_info(), Scope.CLUSTER, NOW)


def test_parse_scopes() -> None:
    assert parse_scopes("job,cluster,job") == ("job", "cluster")
    for bad in ("", "admin", "job,,cluster"):
        with pytest.raises(InvalidInput):
            parse_scopes(bad)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_store(database: Database, clock: FakeClock) -> None:
    store = TokenStore(database, clock=clock)
    created = await store.create("ci", ["job"], timedelta(hours=1))
    assert created.value.startswith("sfpat_") and len(created.value) > 40
    async with database.read() as session:
        stored = await session.scalar(select(PersonalAccessToken.token_hash))
    assert stored == token_hash(created.value) and created.value not in str(stored)
    info = await store.authenticate(created.value, Scope.JOB)
    assert info.name == "ci"
    with pytest.raises(Conflict, match="exists already"):
        await store.create("ci", ["cluster"], timedelta(hours=1))
    first_use = (await store.tokens())[0].last_used_at
    assert first_use is not None
    clock.advance(30)
    await store.authenticate(created.value, Scope.JOB)
    assert (await store.tokens())[0].last_used_at == first_use  # not rewritten every request
    with pytest.raises(Unauthorized):
        await store.authenticate(created.value + "x", Scope.JOB)
    clock.advance(3600)
    with pytest.raises(TokenExpired):
        await store.authenticate(created.value, Scope.JOB)
    await store.revoke(str(created.info.id))
    with pytest.raises(TokenInactive):
        await store.authenticate(created.value, Scope.JOB)
    with pytest.raises(TokenNotFound):
        await store.revoke("nobody")
