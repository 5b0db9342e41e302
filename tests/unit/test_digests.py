import asyncio
import hashlib
import threading

import pytest

from swarmfly.digests import (
    DigestMismatch,
    DigestThread,
    DigestVerifier,
    parse_digest,
    piece_digest,
)
from swarmfly.errors import CorruptContent, InvalidInput


def test_verifier_accepts_the_right_bytes_in_any_chunking() -> None:
    data = b"swarmfly" * 1000
    verifier = DigestVerifier(parse_digest("sha256:" + hashlib.sha256(data).hexdigest()))
    for start in range(0, len(data), 777):
        verifier.update(data[start : start + 777])
    verifier.verify()
    assert verifier.size == len(data)


def test_verifier_refuses_wrong_bytes() -> None:
    verifier = DigestVerifier(parse_digest("sha512:" + hashlib.sha512(b"a").hexdigest()))
    verifier.update(b"b")
    with pytest.raises(DigestMismatch) as raised:
        verifier.verify()
    assert isinstance(raised.value, CorruptContent)


@pytest.mark.parametrize(
    "text", ["sha256:abc", "md5:" + "a" * 32, "sha256" + "a" * 64, "sha256:" + "A" * 64]
)
def test_bad_digests(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_digest(text)


def test_piece_digest_is_xxh3_hex() -> None:
    assert len(piece_digest(b"x")) == 16
    assert piece_digest(b"x") != piece_digest(b"y")


def test_a_digest_thread_holds_the_writer_once_keeps_views_wait() -> None:
    gate = threading.Event()

    class GatedVerifier(DigestVerifier):
        def update(self, chunk: bytes | memoryview) -> None:
            gate.wait()
            super().update(chunk)

    data = [b"a" * 10, b"b" * 10, b"c" * 10]
    verifier = GatedVerifier(parse_digest("sha256:" + hashlib.sha256(b"".join(data)).hexdigest()))
    thread = DigestThread(verifier, keeps=2)
    try:
        thread.update(memoryview(data[0]))  # being hashed, held at the gate
        thread.update(memoryview(data[1]))  # waiting: two views kept, none hashed
        third = threading.Thread(target=thread.update, args=(memoryview(data[2]),))
        third.start()
        third.join(timeout=0.2)
        assert third.is_alive(), "a third view was taken while two were still kept"
        gate.set()
        third.join(timeout=10)
        assert not third.is_alive()
        asyncio.run(thread.drain())
    finally:
        gate.set()
        thread.close()
    verifier.verify()
    assert verifier.size == 30


def test_a_digest_thread_keeps_at_least_one_view() -> None:
    verifier = DigestVerifier(parse_digest("sha256:" + hashlib.sha256(b"").hexdigest()))
    with pytest.raises(ValueError, match="keeps"):
        DigestThread(verifier, keeps=0)
