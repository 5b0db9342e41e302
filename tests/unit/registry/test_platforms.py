"""Platform strings and which index entry serves a platform, table-driven."""

from __future__ import annotations

import pytest

from swarmfly.registry import InvalidPlatform, Platform, parse_platform
from swarmfly.registry.platforms import best_match, normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", Platform("linux", "amd64")),
        ("linux/x86_64", Platform("linux", "amd64")),
        ("Linux/AMD64", Platform("linux", "amd64")),
        ("linux/amd64/v3", Platform("linux", "amd64", "v3")),
        ("linux/arm64", Platform("linux", "arm64")),
        ("linux/aarch64", Platform("linux", "arm64")),
        ("linux/arm64/v8", Platform("linux", "arm64")),  # v8 is arm64's only variant
        ("linux/arm", Platform("linux", "arm")),  # no variant asked: any will do
        ("linux/arm/7", Platform("linux", "arm", "v7")),
        ("linux/armhf", Platform("linux", "arm", "v7")),
        ("linux/armel", Platform("linux", "arm", "v6")),
        ("linux/i386", Platform("linux", "386")),
        ("windows/amd64", Platform("windows", "amd64")),
        ("macos/arm64", Platform("darwin", "arm64")),
        (" linux/s390x ", Platform("linux", "s390x")),
    ],
)
def test_parse_platform(text: str, expected: Platform) -> None:
    assert parse_platform(text) == expected


@pytest.mark.parametrize("text", ["", "linux", "linux/", "/amd64", "linux/arm/v7/x", "linux//v7"])
def test_not_a_platform(text: str) -> None:
    with pytest.raises(InvalidPlatform):
        parse_platform(text)


@pytest.mark.parametrize(
    ("platform", "text"),
    [(Platform("linux", "amd64"), "linux/amd64"), (Platform("linux", "arm", "v7"), "linux/arm/v7")],
)
def test_platform_text(platform: Platform, text: str) -> None:
    assert str(platform) == text


def test_an_index_entry_for_bare_arm_is_arm_v7() -> None:
    assert normalise("linux", "arm", None) == Platform("linux", "arm", "v7")
    assert normalise("linux", "arm", None, default_arm_variant=False) == Platform("linux", "arm")


AMD64 = Platform("linux", "amd64")
AMD64_V3 = Platform("linux", "amd64", "v3")
ARM64 = Platform("linux", "arm64")
ARM_V6 = Platform("linux", "arm", "v6")
ARM_V7 = Platform("linux", "arm", "v7")
WINDOWS = Platform("windows", "amd64")


@pytest.mark.parametrize(
    ("wanted", "offered", "expected"),
    [
        ("linux/amd64", [AMD64, ARM64], 0),
        ("linux/arm64", [AMD64, ARM64], 1),
        ("linux/arm64/v8", [AMD64, ARM64], 1),
        ("linux/s390x", [AMD64, ARM64], None),
        ("linux/amd64", [], None),
        ("linux/amd64", [None, AMD64], 1),  # entries without a platform never match
        ("linux/amd64", [WINDOWS, AMD64], 1),  # the OS counts
        ("linux/amd64", [AMD64_V3, AMD64], 1),  # no variant asked: the baseline wins
        ("linux/amd64", [AMD64_V3], 0),  # …but any variant serves
        ("linux/amd64/v3", [AMD64, AMD64_V3], 1),
        ("linux/amd64/v2", [AMD64, AMD64_V3], None),  # a variant asked must be there
        ("linux/arm", [ARM_V6, ARM_V7], 0),  # no variant asked: index order decides
        ("linux/arm/v7", [ARM_V6, ARM_V7], 1),
        ("linux/armhf", [ARM_V6, ARM_V7], 1),
        ("linux/amd64", [AMD64, AMD64], 0),  # duplicates: the first
    ],
)
def test_best_match(wanted: str, offered: list[Platform | None], expected: int | None) -> None:
    assert best_match(parse_platform(wanted), offered) == expected
