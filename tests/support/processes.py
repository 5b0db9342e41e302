"""Real Swarmfly processes for integration tests: start, wait for the ready line, stop.

A process logs one ``msg=ready`` line with the ports it bound; the harness reads its stderr
until that line (under a deadline), then keeps copying the output to a log file, whose tail
is printed when a test fails. A test can also wait for a later line (``wait_for_line``): the
copier wakes it when the line passes, so nobody polls the file.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse_logfmt(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _FIELD.findall(line)}


@dataclass
class Process:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path
    ready: dict[str, str] = field(default_factory=dict)
    _pump: asyncio.Task[None] | None = None
    _watchers: list[tuple[re.Pattern[str], asyncio.Future[dict[str, str]]]] = field(
        default_factory=list
    )

    def port(self, key: str) -> int:
        return int(self.ready[key])

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process and wait for it; SIGKILL if it does not stop in time."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._pump is not None:
            await self._pump
        assert self.process.returncode is not None
        return self.process.returncode

    async def kill(self) -> None:
        await self.stop(signal.SIGKILL)

    async def wait_for_line(self, pattern: str, timeout: float = 10.0) -> dict[str, str]:
        """The fields of the first log line matching ``pattern``, already logged or to come."""
        regex = re.compile(pattern)
        for line in self.log_text().splitlines():
            if regex.search(line):
                return parse_logfmt(line)
        future: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self._watchers.append((regex, future))
        try:
            async with asyncio.timeout(timeout):
                return await future
        finally:
            self._watchers.remove((regex, future))

    def _saw(self, text: str) -> None:
        for regex, future in self._watchers:
            if not future.done() and regex.search(text):
                future.set_result(parse_logfmt(text))


async def _copy(stream: asyncio.StreamReader, log: Any, handle: Process) -> None:
    while line := await stream.readline():
        log.write(line)
        log.flush()
        handle._saw(line.decode(errors="replace"))
    log.close()


async def start_process(
    name: str, args: list[str], log_path: Path, cwd: Path | None = None
) -> Process:
    """Run ``python -m swarmfly <args>`` and wait for its ready line."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "swarmfly",
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    assert process.stderr is not None
    log = open(log_path, "ab")  # noqa: SIM115 - closed by the pump task
    handle = Process(name, process, log_path)
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            while True:
                line = await process.stderr.readline()
                if not line:
                    log.close()
                    raise RuntimeError(f"{name} exited before it was ready:\n{handle.log_text()}")
                log.write(line)
                log.flush()
                text = line.decode(errors="replace")
                if "msg=ready" in text:
                    handle.ready = parse_logfmt(text)
                    break
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if not log.closed:
            log.close()
        raise
    handle._pump = asyncio.create_task(_copy(process.stderr, log, handle))
    return handle


def daemon_config(root: Path, **sections: Any) -> Path:
    """Write a dfget.yaml for a test daemon: loopback, ports 0, its own store."""
    config: dict[str, Any] = {
        "host": {"ip": "127.0.0.1", "hostname": root.name},
        "control": {"server": {"ip": "127.0.0.1", "port": 0}},
        "upload": {"server": {"ip": "127.0.0.1", "port": 0}},
        "proxy": {"server": {"ip": "127.0.0.1", "port": 0}},
        "storage": {"dir": str(root / "store")},
        "logLevel": "info",
    }
    for key, value in sections.items():
        base = config.setdefault(key, {})
        if isinstance(base, dict) and isinstance(value, dict):
            base.update(value)
        else:
            config[key] = value
    root.mkdir(parents=True, exist_ok=True)
    path = root / "dfget.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def scheduler_config(root: Path, **settings: Any) -> Path:
    """Write a scheduler.yaml for a test scheduler: loopback, port 0, plus ``settings``."""
    config: dict[str, Any] = {"server": {"ip": "127.0.0.1", "port": 0}, "logLevel": "info"}
    config.update(settings)
    root.mkdir(parents=True, exist_ok=True)
    path = root / "scheduler.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class ProcessGroup:
    """The processes one test started: all stopped at teardown, their log tails shown when
    the test failed."""

    def __init__(self) -> None:
        self.started: list[Process] = []

    async def start(self, name: str, args: list[str], root: Path) -> Process:
        process = await start_process(name, args, root / "log.txt")
        self.started.append(process)
        return process

    async def close(self, *, show_logs: bool) -> None:
        for process in self.started:
            await process.stop()
        if show_logs:
            for process in self.started:
                tail = process.log_text().splitlines()[-40:]
                sys.stderr.write(f"\n--- {process.name} log (tail) ---\n" + "\n".join(tail) + "\n")
