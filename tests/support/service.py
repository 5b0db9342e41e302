"""A real third-party server process owned by a test: start, wait for a line, stop, show its log.

The process's stdout and stderr go, line by line, to a log file under the test's directory;
waiters are woken as lines arrive (no polling), and a failing test prints the file's tail.
Stopping is SIGTERM, a bounded wait, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

STOP_TIMEOUT = 10.0
READY_TIMEOUT = 30.0
LINE_LIMIT = 1 << 20

LinePredicate = Callable[[str], bool]


def free_port() -> int:
    """A loopback port nobody listens on now (for servers that cannot bind port 0 and say so)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Service:
    """One run of an external binary; ``start`` again after ``stop`` for a restart."""

    def __init__(self, name: str, args: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.args = list(args)
        self.log_path = log_path
        self._process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self._lines: list[str] = []
        self._ended = False
        self._changed = asyncio.Condition()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def lines(self) -> Sequence[str]:
        """Every line this run has written so far."""
        return self._lines

    async def start(self, ready: LinePredicate, timeout: float = READY_TIMEOUT) -> None:
        """Run the binary and wait until a line satisfies ``ready``."""
        assert not self.running, f"{self.name} is already running"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._lines = []
        self._ended = False
        self._process = await asyncio.create_subprocess_exec(
            *self.args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=LINE_LIMIT,
        )
        self._pump = asyncio.create_task(self._copy_output())
        try:
            await self.wait_for_line(ready, timeout)
        except BaseException:
            await self.stop()
            raise

    async def wait_for_line(
        self, predicate: LinePredicate, timeout: float = READY_TIMEOUT, start: int = 0
    ) -> str:
        """The first line from index ``start`` on that satisfies ``predicate``, under a deadline.

        Fails early, with the log's tail, if the process exits first.
        """
        checked = start
        async with asyncio.timeout(timeout), self._changed:
            while True:
                for line in self._lines[checked:]:
                    if predicate(line):
                        return line
                checked = max(checked, len(self._lines))
                if self._ended:
                    raise RuntimeError(f"{self.name} exited; log tail:\n{self.tail()}")
                await self._changed.wait()

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Signal the process, wait for it (SIGKILL after ``timeout``); its exit status."""
        process = self._process
        if process is None:
            return None
        if process.returncode is None:
            process.send_signal(sig)
            try:
                async with asyncio.timeout(timeout):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._pump is not None:
            await self._pump
        return process.returncode

    async def kill(self) -> int | None:
        return await self.stop(signal.SIGKILL)

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def _copy_output(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        try:
            with open(self.log_path, "ab") as log:
                log.write(f"--- {self.name}: {' '.join(self.args)}\n".encode())
                while raw := await stream.readline():
                    log.write(raw)
                    log.flush()
                    async with self._changed:
                        self._lines.append(raw.decode(errors="replace").rstrip("\n"))
                        self._changed.notify_all()
        finally:
            async with self._changed:
                self._ended = True
                self._changed.notify_all()
