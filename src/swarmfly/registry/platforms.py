"""Platforms (``os/arch[/variant]``) and which manifest of an index serves one.

Names are normalised as containerd normalises them, so ``linux/x86_64`` means ``linux/amd64``,
``linux/aarch64`` and ``linux/arm64/v8`` mean ``linux/arm64``, and an index entry for ``arm``
without a variant is ``arm/v7``. A wanted platform without a variant matches any variant (the
caller did not ask); among several matches the entry with no variant wins (``amd64`` over
``amd64/v3``: the baseline runs everywhere), and otherwise the first in the index's order. Name
the variant to choose another. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from swarmfly.registry.errors import InvalidPlatform

DEFAULT_PLATFORM = "linux/amd64"

_ARCH_ALIASES = {
    "x86_64": "amd64",
    "x86-64": "amd64",
    "aarch64": "arm64",
    "i386": "386",
    "i686": "386",
}
# Debian's names for 32-bit arm carry the variant in the architecture.
_ARM_ALIASES = {"armhf": "v7", "armel": "v6"}
_OS_ALIASES = {"macos": "darwin"}


@dataclass(frozen=True)
class Platform:
    """An OS and CPU architecture, with a variant (``v7``, ``v8``) or None for "any"."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base


def parse_platform(text: str) -> Platform:
    """Parse ``os/arch[/variant]`` (as ``--platform`` takes it) into a normalised platform."""
    parts = text.strip().lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidPlatform(f"not a platform: {text!r} (expected os/arch[/variant])")
    variant = parts[2] if len(parts) == 3 else None
    return normalise(parts[0], parts[1], variant, default_arm_variant=False)


def normalise(
    os_name: str, architecture: str, variant: str | None, *, default_arm_variant: bool = True
) -> Platform:
    """containerd's normal form; ``default_arm_variant`` makes a bare ``arm`` mean ``arm/v7``.

    That default applies to what an index offers (an image built for "arm" is a v7 image), not
    to what a caller asks for, where no variant means any.
    """
    os_name = _OS_ALIASES.get(os_name.lower(), os_name.lower())
    arch = architecture.lower()
    variant = variant.lower() if variant else None
    if arch in _ARM_ALIASES:
        arch, variant = "arm", _ARM_ALIASES[arch]
    arch = _ARCH_ALIASES.get(arch, arch)
    if variant is not None and variant.isdigit():
        variant = f"v{variant}"
    if arch == "arm64" and variant in ("v8", "v8.0"):
        variant = None
    if arch == "arm" and variant is None and default_arm_variant:
        variant = "v7"
    return Platform(os_name, arch, variant)


def matches(wanted: Platform, offered: Platform) -> bool:
    """Whether an image for ``offered`` serves ``wanted``."""
    if (wanted.os, wanted.architecture) != (offered.os, offered.architecture):
        return False
    return wanted.variant is None or wanted.variant == offered.variant


def best_match(wanted: Platform, offered: Sequence[Platform | None]) -> int | None:
    """The index of the entry that serves ``wanted`` best, or None; ``None`` entries never match.

    An exact match (variant included, or both without one) beats a variant-less request
    matching a variant; then index order decides.
    """
    candidates = [
        i
        for i, platform in enumerate(offered)
        if platform is not None and matches(wanted, platform)
    ]
    for i in candidates:
        if offered[i] == wanted:
            return i
    return candidates[0] if candidates else None
