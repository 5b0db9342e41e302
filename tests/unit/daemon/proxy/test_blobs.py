"""Store-path choices that need no I/O: which ranges wait for a whole download."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from swarmfly.daemon.proxy.blobs import requested_range, starts_in_first_piece
from swarmfly.source import ByteRange, SuffixRange

MIB = 1 << 20


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=5-", ByteRange(5)),
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=-10", SuffixRange(10)),
        ("bytes=1-2,5-6", None),  # several ranges: ignored, the whole object is sent
        ("pages=1-2", None),
        ("bytes=9-3", None),
    ],
)
def test_requested_range(header: str | None, expected: object) -> None:
    headers = {} if header is None else {"Range": header}
    assert requested_range(make_mocked_request("GET", "/", headers=headers)) == expected


@pytest.mark.parametrize(
    ("spec", "waits"),
    [
        (ByteRange(0), True),
        (ByteRange(4 * MIB - 1, 5 * MIB), True),
        (ByteRange(4 * MIB), False),  # containerd resuming: straight to the source
        (SuffixRange(10), False),
    ],
)
def test_starts_in_first_piece(spec: ByteRange | SuffixRange, waits: bool) -> None:
    assert starts_in_first_piece(spec) is waits
