"""Content digests: parsing ``sha256:<hex>`` and checking bytes against one as they stream.

Every path that verifies content (the piece store, the proxy, ``dfget``) uses
:class:`DigestVerifier`, so there is one rule for what "verified" means.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import xxhash

from swarmfly.errors import CorruptContent, InvalidInput

_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class Digest:
    """A content digest such as ``sha256:<64 hex>``."""

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def parse_digest(text: str) -> Digest:
    """Parse ``sha256:…`` or ``sha512:…``; the hex must be lowercase and of the right length."""
    algorithm, sep, hex_part = text.strip().partition(":")
    expected = _HEX_LENGTH.get(algorithm)
    if not sep or expected is None:
        raise InvalidInput(f"not a valid digest: {text!r} (expected sha256:<hex> or sha512:<hex>)")
    if len(hex_part) != expected or not _HEX.match(hex_part):
        raise InvalidInput(
            f"not a valid digest: {text!r} ({algorithm} needs {expected} hex digits)"
        )
    return Digest(algorithm, hex_part)


class DigestMismatch(CorruptContent):
    """The whole content does not hash to the digest it must have."""

    def __init__(self, expected: Digest, actual: str) -> None:
        super().__init__(f"digest mismatch: expected {expected}, got {expected.algorithm}:{actual}")
        self.expected = expected
        self.actual = actual


class DigestVerifier:
    """Hash bytes as they pass, then check them against the expected digest."""

    def __init__(self, expected: Digest) -> None:
        self.expected = expected
        self._hasher = hashlib.new(expected.algorithm)
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self._hasher.update(chunk)
        self.size += len(chunk)

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()

    def verify(self) -> None:
        """Raise :class:`DigestMismatch` unless the bytes seen so far match."""
        actual = self._hasher.hexdigest()
        if actual != self.expected.hex:
            raise DigestMismatch(self.expected, actual)


def piece_digest(data: bytes | memoryview) -> str:
    """The digest recorded for each finished piece: xxHash3-64, lowercase hex."""
    return xxhash.xxh3_64_hexdigest(data)


def new_piece_hasher() -> xxhash.xxh3_64:
    """An incremental piece hasher, for pieces written chunk by chunk."""
    return xxhash.xxh3_64()
