"""aiohttp's and asyncio's exceptions become ours, the most specific category winning."""

from __future__ import annotations

import errno
from unittest.mock import Mock

import aiohttp
import pytest

from swarmfly.errors import InvalidInput, Timeout, Unavailable, UpstreamError
from swarmfly.source.errors import (
    RangeNotSatisfiable,
    SourceStatusError,
    SourceTimeout,
    SourceUnavailable,
    SourceURLError,
    translating_errors,
)

SIGNED = "https://s3.local/b/o?X-Amz-Signature=secret-signature&Expires=1"


def connector_error() -> aiohttp.ClientConnectorError:
    refused = OSError(errno.ECONNREFUSED, "Connection refused")
    return aiohttp.ClientConnectorError(Mock(), refused)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (TimeoutError(), SourceTimeout),
        (aiohttp.SocketTimeoutError("read"), SourceTimeout),
        (aiohttp.ConnectionTimeoutError("connect"), SourceTimeout),
        (connector_error(), SourceUnavailable),
        (aiohttp.ClientPayloadError("cut"), SourceUnavailable),
        (aiohttp.ServerDisconnectedError(), SourceUnavailable),
        (aiohttp.ClientOSError(errno.ECONNRESET, "reset"), SourceUnavailable),
        (ConnectionResetError(errno.ECONNRESET, "reset"), SourceUnavailable),
        (aiohttp.InvalidURL("http://"), SourceURLError),
    ],
)
def test_translation(raised: BaseException, expected: type[Exception]) -> None:
    with pytest.raises(expected) as info, translating_errors(SIGNED):
        raise raised
    assert info.value.__cause__ is raised
    assert "secret-signature" not in str(info.value)


def test_other_exceptions_pass_untouched() -> None:
    with pytest.raises(KeyError), translating_errors(SIGNED):
        raise KeyError("ours")


def test_the_tree() -> None:
    assert issubclass(SourceStatusError, UpstreamError)
    assert issubclass(SourceUnavailable, Unavailable)
    assert issubclass(SourceTimeout, Timeout)
    assert issubclass(RangeNotSatisfiable, InvalidInput)
    assert issubclass(SourceURLError, InvalidInput)
