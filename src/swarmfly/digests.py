"""Content digests: parsing ``sha256:<hex>`` and checking bytes against one as they stream.

Every path that verifies content (the piece store, the proxy, ``dfget``) uses
:class:`DigestVerifier`, so there is one rule for what "verified" means.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
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


class DigestThread:
    """Feeds a :class:`DigestVerifier` on a thread of its own, beside the thread that writes
    the bytes: sha256 is the slowest step of a download, so it runs on another core.

    The writer hands over the very views it wrote (no copy, no read back from the file) and
    :meth:`update` returns at once while fewer than :attr:`keeps` views wait to be hashed; a
    writer that outruns the hash waits there. The views must stay intact until hashed:
    :meth:`swarmfly.source.SourceResponse.pump` with ``keeps=thread.keeps`` guarantees that.
    """

    def __init__(self, verifier: DigestVerifier, *, keeps: int = 3) -> None:
        if keeps < 1:
            raise ValueError("keeps must be at least 1")
        self.verifier = verifier
        self.keeps = keeps
        self._slots = threading.BoundedSemaphore(keeps)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="swarmfly-digest")
        self._last: Future[None] | None = None

    def update(self, view: memoryview) -> None:
        """Blocking while :attr:`keeps` views wait: queue ``view`` to be hashed in turn."""
        self._slots.acquire()
        try:
            self._last = self._executor.submit(self._hash, view)
        except BaseException:
            self._slots.release()
            raise

    def _hash(self, view: memoryview) -> None:
        try:
            self.verifier.update(view)
        finally:
            self._slots.release()

    async def drain(self) -> None:
        """Wait until every view handed over so far is hashed (call once the writer stopped)."""
        if self._last is not None:
            await asyncio.wrap_future(self._last)

    def close(self) -> None:
        """Stop the thread once it has hashed what is queued (a few views at most)."""
        self._executor.shutdown(wait=False)


def piece_digest(data: bytes | memoryview) -> str:
    """The digest recorded for each finished piece: xxHash3-64, lowercase hex."""
    return xxhash.xxh3_64_hexdigest(data)


def new_piece_hasher() -> xxhash.xxh3_64:
    """An incremental piece hasher, for pieces written chunk by chunk."""
    return xxhash.xxh3_64()
