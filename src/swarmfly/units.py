"""Durations and sizes as people write them in config files and flags (``30s``, ``4Mi``)."""

from __future__ import annotations

import re
from datetime import timedelta

from swarmfly.errors import InvalidInput

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]i?)?(B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1,
    "k": 1000,
    "m": 1000**2,
    "g": 1000**3,
    "t": 1000**4,
    "p": 1000**5,
    "ki": 1024,
    "mi": 1024**2,
    "gi": 1024**3,
    "ti": 1024**4,
    "pi": 1024**5,
}


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """Parse ``1h30m``, ``30s``, ``500ms`` or a bare number of seconds (Go's notation)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise InvalidInput(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise InvalidInput(f"a duration cannot be negative: {value!r}")
        return timedelta(seconds=value)
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return timedelta(seconds=float(text))
    pos = 0
    seconds = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise InvalidInput(f"not a duration: {value!r} (write it like 30s, 5m, 6h or 1h30m)")
    return timedelta(seconds=seconds)


def parse_size(value: str | int) -> int:
    """Parse ``4Mi``, ``100MB``, ``1.5Gi`` or a bare number of bytes."""
    if isinstance(value, bool):
        raise InvalidInput(f"not a size: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise InvalidInput(f"a size cannot be negative: {value!r}")
        return value
    match = _SIZE.match(value)
    if not match:
        raise InvalidInput(f"not a size: {value!r} (write it like 4Mi, 100MB or 1048576)")
    number, unit, _ = match.groups()
    return int(float(number) * _SIZE_UNITS[(unit or "").lower()])


def format_size(size: float) -> str:
    """Render a byte count for people: ``1.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
