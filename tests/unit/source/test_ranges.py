"""Range and Content-Range parsing and formatting, table-driven (RFC 9110 §14)."""

from __future__ import annotations

import pytest

from swarmfly.errors import InvalidInput
from swarmfly.source.errors import RangeNotSatisfiable
from swarmfly.source.ranges import (
    ByteRange,
    ContentRange,
    SuffixRange,
    format_content_range,
    format_range,
    format_unsatisfied_content_range,
    parse_content_range,
    parse_range_header,
    parse_range_spec,
    parse_unsatisfied_total,
)


@pytest.mark.parametrize(
    ("header", "total", "expected"),
    [
        ("bytes=0-99", 1000, (0, 99)),
        ("bytes=0-0", 1000, (0, 0)),
        ("bytes=500-", 1000, (500, 999)),
        ("bytes=0-", 1000, (0, 999)),
        ("bytes=-100", 1000, (900, 999)),
        ("bytes=-5000", 1000, (0, 999)),  # a suffix longer than the object
        ("bytes=900-5000", 1000, (900, 999)),  # last-pos past the end is clamped
        ("bytes=999-999", 1000, (999, 999)),
        ("BYTES=1-2", 1000, (1, 2)),  # the unit is case-insensitive
        ("  bytes=1-2  ", 1000, (1, 2)),
        ("bytes=0-", 1, (0, 0)),
    ],
)
def test_parse_range_header_resolves_against_the_length(
    header: str, total: int, expected: tuple[int, int]
) -> None:
    assert parse_range_header(header, total) == ContentRange(*expected, total)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes=1-a",
        "bytes=5-3",  # ends before it starts
        "bytes=+1-2",  # int() would accept these; the grammar does not
        "bytes= 1-2",
        "bytes=1 -2",
        "bytes=1_0-20",
        "bytes=١-٢",  # non-ASCII digits
        "bytes=0-1,5-6",  # several ranges
        "bytes=0-1,",
        "items=0-1",
        "bytes 0-1",
        "bytes=1-2-3",
        "bytes=1234567890123456789-",  # more digits than any real object needs
    ],
)
def test_malformed_ranges_are_invalid_input(header: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_range_header(header, 1000)
    assert not isinstance(info.value, RangeNotSatisfiable)


@pytest.mark.parametrize(
    ("header", "total"),
    [
        ("bytes=1000-", 1000),
        ("bytes=1000-2000", 1000),
        ("bytes=5000-", 1000),
        ("bytes=-0", 1000),
        ("bytes=0-", 0),
        ("bytes=-1", 0),
        ("bytes=0-0", 0),
    ],
)
def test_unsatisfiable_ranges_carry_the_total(header: str, total: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range_header(header, total)
    assert info.value.total_length == total


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=10-", ByteRange(10)),
        ("bytes=10-20", ByteRange(10, 20)),
        ("bytes=-20", SuffixRange(20)),
    ],
)
def test_parse_range_spec_without_a_length(header: str, expected: object) -> None:
    assert parse_range_spec(header) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (ByteRange(0), "bytes=0-"),
        (ByteRange(5, 9), "bytes=5-9"),
        (SuffixRange(7), "bytes=-7"),
    ],
)
def test_format_range_round_trips(spec: ByteRange | SuffixRange, expected: str) -> None:
    assert format_range(spec) == expected
    assert parse_range_spec(expected) == spec


@pytest.mark.parametrize(
    ("content_range", "expected"),
    [
        (ContentRange(0, 99, 1000), "bytes 0-99/1000"),
        (ContentRange(0, 99, None), "bytes 0-99/*"),
        (ByteRange(500).resolve(1000), "bytes 500-999/1000"),
        (ByteRange(500, 5000).resolve(1000), "bytes 500-999/1000"),
    ],
)
def test_format_content_range(content_range: ContentRange, expected: str) -> None:
    assert format_content_range(content_range) == expected
    assert parse_content_range(expected) == content_range


def test_format_unsatisfied_content_range() -> None:
    assert format_unsatisfied_content_range(1000) == "bytes */1000"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes 0-99/1000", ContentRange(0, 99, 1000)),
        ("bytes 999-999/1000", ContentRange(999, 999, 1000)),
        ("bytes 0-99/*", ContentRange(0, 99, None)),
        ("Bytes 5-9/10", ContentRange(5, 9, 10)),
    ],
)
def test_parse_content_range(header: str, expected: ContentRange) -> None:
    parsed = parse_content_range(header)
    assert parsed == expected
    assert parsed.length == expected.end - expected.start + 1


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes */1000",  # the 416 form is not a body's range
        "bytes 0-99",
        "bytes=0-99/1000",
        "bytes 9-5/10",  # ends before it starts
        "bytes 0-10/10",  # ends past the total
        "bytes 0-9/abc",
        "items 0-9/10",
    ],
)
def test_malformed_content_range_is_invalid_input(header: str) -> None:
    with pytest.raises(InvalidInput):
        parse_content_range(header)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("bytes */1000", 1000), ("bytes 0-1/2", None), ("", None), (None, None)],
)
def test_parse_unsatisfied_total(header: str | None, expected: int | None) -> None:
    assert parse_unsatisfied_total(header) == expected


@pytest.mark.parametrize(("start", "end"), [(-1, None), (5, 4)])
def test_byte_range_rejects_impossible_bounds(start: int, end: int | None) -> None:
    with pytest.raises(InvalidInput):
        ByteRange(start, end)


@pytest.mark.parametrize(("start", "end", "total"), [(-1, 5, None), (5, 4, None), (0, 10, 10)])
def test_content_range_rejects_impossible_bounds(start: int, end: int, total: int | None) -> None:
    with pytest.raises(InvalidInput):
        ContentRange(start, end, total)


def test_lengths_and_conversion() -> None:
    assert ByteRange(10, 19).length == 10
    assert ByteRange(10).length is None
    assert ContentRange(10, 19, 100).length == 10
    assert ContentRange(10, 19, 100).byte_range() == ByteRange(10, 19)
