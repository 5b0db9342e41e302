"""A relayed blob verified as it streams: the last chunk waits for the digest."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from swarmfly.daemon.proxy.passthrough import _verified
from swarmfly.digests import Digest, DigestMismatch


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def digest_of(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


async def test_matching_bytes_pass_whole() -> None:
    parts = [b"ab", b"cd", b"e"]
    assert [c async for c in _verified(chunks(*parts), digest_of(b"abcde"))] == parts
    assert [c async for c in _verified(chunks(), digest_of(b""))] == []


async def test_a_mismatch_is_raised_before_the_last_chunk() -> None:
    seen: list[bytes] = []
    with pytest.raises(DigestMismatch):
        async for chunk in _verified(chunks(b"ab", b"cd", b"X"), digest_of(b"abcde")):
            seen.append(chunk)
    assert seen == [b"ab", b"cd"]
