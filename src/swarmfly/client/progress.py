"""A progress bar for ``dfget`` on a terminal: bytes, rate and time left."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


class TerminalProgress:
    """tqdm on stderr, only when stderr is a terminal (quiet in scripts and logs)."""

    def __init__(self, description: str, stream: TextIO | None = None) -> None:
        self._description = description
        self._stream = stream or sys.stderr
        self._bar: tqdm | None = None

    def start(self, total: int | None) -> None:
        if self._bar is None and self._stream.isatty():
            self._bar = tqdm(
                total=total,
                desc=self._description,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=self._stream,
                miniters=1,
                dynamic_ncols=True,
            )

    def advance(self, size: int) -> None:
        if self._bar is not None:
            self._bar.update(size)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
