"""Turn another role's error response back into our error tree (the inverse of ``web/errors``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from swarmfly import errors

_CATEGORY_BY_STATUS: dict[int, type[errors.SwarmflyError]] = {
    400: errors.InvalidInput,
    401: errors.Unauthenticated,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    416: errors.InvalidInput,
    422: errors.InvalidInput,
    503: errors.Unavailable,
    504: errors.Timeout,
    507: errors.StorageFull,
}


def error_from_response(status: int, body: bytes, *, who: str) -> errors.SwarmflyError:
    """The error a role's response stands for; ``who`` names the role in the message."""
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    message = str(data.get("message") or data.get("errors") or f"HTTP {status}")
    upstream_status = data.get("upstream_status")
    if isinstance(upstream_status, int):
        return errors.UpstreamError(message, status=upstream_status)
    if status == 502 and data.get("error") in {"DigestMismatch", "PieceCorrupt", "CorruptContent"}:
        return errors.CorruptContent(message)
    category = _CATEGORY_BY_STATUS.get(status)
    if category is None:
        return errors.SwarmflyError(f"{who} answered {status}: {message}")
    return category(message)


class BadResponse(errors.Unavailable):
    """A role answered with a body that is not the message the protocol promises."""


@contextmanager
def translate_client_errors(who: str, url: str) -> Iterator[None]:
    """Map aiohttp's failures on a call to another role into our tree, most specific first.

    A deadline is ``Timeout``; a refused, reset or cut connection is ``Unavailable``; an answer
    that does not parse as the expected message is ``BadResponse``.
    """
    # Imported here: ``dfget`` reads error bodies with this module and never loads aiohttp.
    import aiohttp
    import pydantic

    try:
        yield
    except TimeoutError as exc:
        raise errors.Timeout(f"{who} at {url} did not answer in time") from exc
    except aiohttp.ClientError as exc:
        raise errors.Unavailable(f"cannot reach {who} at {url}: {exc}") from exc
    except pydantic.ValidationError as exc:
        raise BadResponse(f"{who} at {url} answered an unreadable message: {exc}") from exc
