"""Tenant checks: the key, the TTL cache on an injected clock, and one question per key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.proxy.access import (
    ANONYMOUS,
    AccessCache,
    AccessChecker,
    AccessKey,
    credential_of,
    scope_of,
)
from swarmfly.source import SourceUnavailable

BLOB = "http://Reg:5000/v2/team/app/blobs/sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("url", "is_blob", "scope"),
    [
        (BLOB, True, "http://reg:5000/v2/team/app"),
        ("https://r/v2/a/blobs/sha256:" + "b" * 64, True, "https://r/v2/a"),
        ("http://f/file?sig=1", False, "http://f/file?sig=1"),
    ],
)
def test_scope_of(url: str, is_blob: bool, scope: str) -> None:
    assert scope_of(url, is_blob=is_blob) == scope


def test_credential_of() -> None:
    assert credential_of([("Accept", "x")]) == ANONYMOUS
    a = credential_of([("Authorization", "Basic a")])
    assert a != ANONYMOUS and "Basic" not in a
    assert a == credential_of([("authorization", "Basic a"), ("Accept", "y")])
    assert a != credential_of([("Authorization", "Basic b")])
    assert a != credential_of([("Authorization", "Basic a"), ("Cookie", "s=1")])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_forgets_after_the_ttl_and_public_covers_everybody() -> None:
    clock = Clock()
    cache = AccessCache(60, clock=clock)
    alice, bob = AccessKey("s", "alice"), AccessKey("s", "bob")
    cache.remember(alice)
    assert cache.allows(alice) and not cache.allows(bob)
    clock.now += 59.9
    assert cache.allows(alice)
    clock.now += 0.2
    assert not cache.allows(alice)
    cache.remember(AccessKey("s", ANONYMOUS))
    assert cache.allows(bob) and not cache.allows(AccessKey("other", "bob"))


def test_the_cache_is_bounded() -> None:
    cache = AccessCache(60, clock=Clock(), limit=2)
    keys = [AccessKey(str(n), "c") for n in range(3)]
    for key in keys:
        cache.remember(key)
    assert [cache.allows(key) for key in keys] == [False, True, True]


@dataclass
class FakeUpstream:
    """Answers every request with ``status``, once ``release`` is set."""

    status: int = 200
    calls: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    asked: asyncio.Event = field(default_factory=asyncio.Event)
    error: Exception | None = None

    @asynccontextmanager
    async def request(
        self, method: str, url: str, headers: Any, body: Any = None
    ) -> AsyncIterator[Any]:
        self.calls.append((method, url, list(headers)))
        self.asked.set()
        await self.release.wait()
        if self.error is not None:
            raise self.error
        yield self


def checker(upstream: FakeUpstream, clock: Clock | None = None) -> AccessChecker:
    return AccessChecker(upstream, DaemonMetrics().proxy, ttl=60, clock=clock or Clock())  # type: ignore[arg-type]


async def test_a_blob_is_checked_with_a_head_carrying_the_credentials_once_per_ttl() -> None:
    upstream = FakeUpstream()
    upstream.release.set()
    clock = Clock()
    check = checker(upstream, clock)
    headers = [("Authorization", "Basic a"), ("Range", "bytes=1-"), ("Host", "mirror")]
    assert await check.allows(BLOB, is_blob=True, headers=headers)
    assert await check.allows(BLOB, is_blob=True, headers=headers)
    assert upstream.calls == [("HEAD", BLOB, [("Authorization", "Basic a")])]
    clock.now += 61
    assert await check.allows(BLOB, is_blob=True, headers=headers)
    assert len(upstream.calls) == 2


async def test_other_urls_are_checked_with_a_one_byte_get() -> None:
    upstream = FakeUpstream(status=206)
    upstream.release.set()
    assert await checker(upstream).allows("http://f/x?sig=1", is_blob=False, headers=[])
    assert upstream.calls == [("GET", "http://f/x?sig=1", [("Range", "bytes=0-0")])]


@pytest.mark.parametrize(
    ("status", "is_blob", "allowed"),
    [
        (200, True, True),
        (307, True, True),
        (401, True, False),
        (403, True, False),
        (404, True, False),
        (416, False, True),
        (416, True, False),
        (500, True, False),
    ],
)
async def test_which_answers_are_a_yes(status: int, is_blob: bool, allowed: bool) -> None:
    upstream = FakeUpstream(status=status)
    upstream.release.set()
    assert await checker(upstream).allows(BLOB, is_blob=is_blob, headers=[]) is allowed


async def test_a_no_is_not_remembered_and_an_unreachable_upstream_is_a_no() -> None:
    upstream = FakeUpstream(status=401)
    upstream.release.set()
    check = checker(upstream)
    assert not await check.allows(BLOB, is_blob=True, headers=[])
    upstream.status = 200
    assert await check.allows(BLOB, is_blob=True, headers=[])
    upstream = FakeUpstream(error=SourceUnavailable("refused"))
    upstream.release.set()
    assert not await checker(upstream).allows(BLOB, is_blob=True, headers=[])


async def test_concurrent_checks_of_one_key_ask_once() -> None:
    upstream = FakeUpstream()
    check = checker(upstream)
    pending = [
        asyncio.ensure_future(check.allows(BLOB, is_blob=True, headers=[("Authorization", "x")]))
        for _ in range(10)
    ]
    # Tasks run in creation order: once the first has asked, the others are waiting on it.
    await upstream.asked.wait()
    upstream.release.set()
    assert await asyncio.gather(*pending) == [True] * 10
    assert len(upstream.calls) == 1


async def test_when_the_asker_leaves_a_waiter_asks_itself() -> None:
    upstream = FakeUpstream()
    check = checker(upstream)
    first = asyncio.ensure_future(check.allows(BLOB, is_blob=True, headers=[]))
    second = asyncio.ensure_future(check.allows(BLOB, is_blob=True, headers=[]))
    await upstream.asked.wait()  # the first asked; the second waits for its answer
    upstream.asked.clear()
    first.cancel()
    upstream.release.set()
    assert await second
    assert first.cancelled()
    assert len(upstream.calls) == 2
