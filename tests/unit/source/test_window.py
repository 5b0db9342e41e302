"""How each kind of 2xx answer maps to the bytes the caller is given."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from swarmfly.source.errors import RangeNotSatisfiable, SourceUnavailable
from swarmfly.source.ranges import ByteRange
from swarmfly.source.window import BodyWindow, body_window


def headers(**values: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in values.items()}))


@pytest.mark.parametrize(
    ("status", "sent", "requested", "expected"),
    [
        # plain 200
        (200, {"Content_Length": "100"}, None, BodyWindow(200, 0, 0, 100, 100, False)),
        (
            200,
            {"Content_Length": "100", "Accept_Ranges": "bytes"},
            None,
            BodyWindow(200, 0, 0, 100, 100, True),
        ),
        (200, {}, None, BodyWindow(200, 0, 0, None, None, False)),  # chunked
        # 206 exactly as asked
        (
            206,
            {"Content_Range": "bytes 10-19/100"},
            ByteRange(10, 19),
            BodyWindow(206, 10, 10, 20, 100, True),
        ),
        (
            206,
            {"Content_Range": "bytes 10-99/*"},
            ByteRange(10),
            BodyWindow(206, 10, 10, 100, None, True),
        ),
        # 206 wider than asked: trimmed to the request
        (
            206,
            {"Content_Range": "bytes 0-99/100"},
            ByteRange(10, 19),
            BodyWindow(206, 0, 10, 20, 100, True),
        ),
        # 206 shorter than asked (a capped CDN): what was sent, no more
        (
            206,
            {"Content_Range": "bytes 10-49/100"},
            ByteRange(10, 79),
            BodyWindow(206, 10, 10, 50, 100, True),
        ),
        # 200 to a ranged request: sliced out of the whole body
        (
            200,
            {"Content_Length": "100", "Accept_Ranges": "bytes"},
            ByteRange(10, 19),
            BodyWindow(206, 0, 10, 20, 100, False),
        ),
        (200, {"Content_Length": "100"}, ByteRange(10), BodyWindow(206, 0, 10, 100, 100, False)),
        (200, {"Content_Length": "100"}, ByteRange(0), BodyWindow(200, 0, 0, 100, 100, False)),
        (200, {"Content_Length": "100"}, ByteRange(0, 500), BodyWindow(200, 0, 0, 100, 100, False)),
        (200, {}, ByteRange(10, 19), BodyWindow(206, 0, 10, 20, None, False)),
        (200, {}, ByteRange(0), BodyWindow(200, 0, 0, None, None, False)),
    ],
)
def test_body_window(
    status: int, sent: dict[str, str], requested: ByteRange | None, expected: BodyWindow
) -> None:
    assert body_window(status, headers(**sent), requested) == expected


def test_content_length_of_the_window() -> None:
    assert BodyWindow(206, 0, 10, 20, 100, True).content_length == 10
    assert BodyWindow(200, 0, 0, None, None, False).content_length is None


def test_a_range_past_the_end_of_a_200_is_unsatisfiable() -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        body_window(200, headers(Content_Length="100"), ByteRange(100))
    assert info.value.total_length == 100


@pytest.mark.parametrize(
    ("sent", "requested"),
    [
        ({}, ByteRange(0)),  # no Content-Range
        ({"Content_Range": "bytes 0-9"}, ByteRange(0)),
        ({"Content_Range": "bytes 20-29/100"}, ByteRange(10, 29)),  # starts after the ask
        ({"Content_Range": "bytes 0-9/100"}, ByteRange(10, 19)),  # ends before it
    ],
)
def test_a_206_that_does_not_fit_the_request(sent: dict[str, str], requested: ByteRange) -> None:
    with pytest.raises(SourceUnavailable):
        body_window(206, headers(**sent), requested)
