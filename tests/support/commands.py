"""Run a client binary (ctr, skopeo, htpasswd) to completion under a deadline."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

COMMAND_TIMEOUT = 180.0


@dataclass(frozen=True)
class CommandResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self, lines: int = 30) -> str:
        """The command, its status and the tail of its output, for an assertion message."""
        tail = "\n".join((self.stdout + self.stderr).splitlines()[-lines:])
        return f"$ {shlex.join(self.args)}\nexit {self.returncode}\n{tail}"

    def check(self) -> CommandResult:
        assert self.ok, self.describe()
        return self


async def run(args: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> CommandResult:
    """Run ``args``; on timeout the process is killed and ``TimeoutError`` propagates."""
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate()
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    assert process.returncode is not None
    return CommandResult(
        tuple(args), process.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    )
