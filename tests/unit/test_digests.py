import hashlib

import pytest

from swarmfly.digests import DigestMismatch, DigestVerifier, parse_digest, piece_digest
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
