"""Turn another role's error response back into our error tree (the inverse of ``web/errors``)."""

from __future__ import annotations

import json

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
