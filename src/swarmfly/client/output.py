"""Write a download to its path all or nothing: a temporary name, then a rename.

A failed or interrupted download never leaves a partial file at the path the user named,
and a digest, when given, is checked before the rename.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from swarmfly.digests import Digest, DigestVerifier
from swarmfly.errors import InvalidInput, StorageFull, SwarmflyError


class OutputFile:
    """``async with OutputFile(path, digest) as out: await out.write(chunk)``; commit on success."""

    def __init__(self, path: Path, digest: Digest | None) -> None:
        self.path = path
        self.size = 0
        self._verifier = DigestVerifier(digest) if digest else None
        self._fd = -1
        self._temp: Path | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dfget-write")

    async def __aenter__(self) -> OutputFile:
        directory = self.path.parent
        if not directory.is_dir():
            raise InvalidInput(f"the directory {directory} does not exist")
        try:
            self._fd, name = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".part", dir=directory
            )
        except OSError as exc:
            raise InvalidInput(f"cannot write to {directory}: {exc.strerror}") from exc
        self._temp = Path(name)
        return self

    async def write(self, chunk: bytes) -> None:
        loop = asyncio.get_running_loop()
        writing = loop.run_in_executor(self._pool, self._write_all, chunk)
        if self._verifier is not None:
            self._verifier.update(chunk)
        await writing
        self.size += len(chunk)

    def _write_all(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            raise _translate(exc, self.path) from exc

    @property
    def temp_path(self) -> Path:
        """Where the bytes go until :meth:`commit`; another process may fill it."""
        assert self._temp is not None
        return self._temp

    def written_elsewhere(self, size: int) -> None:
        """The daemon filled :attr:`temp_path` itself (and verified the digest, if any)."""
        self.size = size
        self._verifier = None

    async def commit(self) -> None:
        """Verify the digest, then move the file into place."""
        if self._verifier is not None:
            self._verifier.verify()
        assert self._temp is not None
        try:
            os.fchmod(self._fd, 0o644 & ~_umask())
            os.close(self._fd)
            self._fd = -1
            os.replace(self._temp, self.path)
        except OSError as exc:
            raise _translate(exc, self.path) from exc
        self._temp = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
        self._pool.shutdown(wait=False)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _translate(exc: OSError, path: Path) -> SwarmflyError:
    if exc.errno in (28, 122):  # ENOSPC, EDQUOT
        return StorageFull(f"no space left to write {path}")
    return SwarmflyError(f"cannot write {path}: {exc.strerror}")
