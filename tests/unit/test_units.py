from datetime import timedelta

import pytest

from swarmfly.errors import InvalidInput
from swarmfly.units import format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("6h", 21600), ("1h30m", 5400), ("500ms", 0.5), ("90", 90), (2, 2)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5x", "m5", "1h 30m", "-3s", "s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [("4Mi", 4 << 20), ("100MB", 100_000_000), ("1.5Gi", 3 << 29), ("1048576", 1 << 20), (7, 7)],
)
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "4 Mo", "-1", "Mi"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_size(text)


def test_format_size() -> None:
    assert format_size(512) == "512 B"
    assert format_size(3 << 29) == "1.5 GiB"
