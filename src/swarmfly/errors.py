"""The error tree: every failure Swarmfly raises is one of these categories.

Callers catch a category, never a message string. Each package subclasses a category in its
own ``errors.py`` (``storage.errors.DigestMismatch(CorruptContent)``). The mapping from category
to HTTP status lives once, in ``web/errors.py``.

    SwarmflyError
    ├── InvalidInput          bad URL, bad config value, bad header, bad range
    ├── Unauthenticated       missing or unknown credentials
    ├── Forbidden             credentials that are not allowed to do this
    ├── NotFound              unknown task, piece, job
    ├── Conflict              the thing exists, or is in a state that forbids this
    ├── StorageFull           the disk (or its quota) is full
    ├── CorruptContent        bytes that do not match their digest
    ├── UpstreamError         the source or a peer answered with an error status
    ├── Unavailable           a dependency cannot be reached (connection refused, reset)
    └── Timeout               a deadline passed
"""

from __future__ import annotations

from collections.abc import Mapping


class SwarmflyError(Exception):
    """Root of every error Swarmfly raises on purpose."""


class InvalidInput(SwarmflyError):
    """The caller sent something we cannot act on; retrying the same input will not help."""


class Unauthenticated(SwarmflyError):
    """No credentials, or credentials nobody knows."""


class Forbidden(SwarmflyError):
    """Known credentials that may not do this."""


class NotFound(SwarmflyError):
    """The named thing does not exist."""


class Conflict(SwarmflyError):
    """The request clashes with the current state."""


class StorageFull(SwarmflyError):
    """No space left where content must be written."""


class CorruptContent(SwarmflyError):
    """Bytes that do not match the digest they must have."""


class UpstreamError(SwarmflyError):
    """The source (or a peer) answered, but with an error status.

    It keeps the upstream status, headers and a bounded prefix of the body so that the proxy can
    pass them through unchanged.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers: dict[str, str] = dict(headers or {})
        self.body = body


class Unavailable(SwarmflyError):
    """A dependency could not be reached or dropped the connection (or is busy: then
    ``retry_after`` may say in how many seconds to ask again)."""

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Timeout(SwarmflyError):
    """A deadline passed before the work finished."""
