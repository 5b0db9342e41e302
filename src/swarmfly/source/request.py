"""What the caller asks of a source: one immutable value, so a retry or a resume can copy it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from swarmfly.source.ranges import ByteRange


@dataclass(frozen=True)
class SourceRequest:
    """A GET (or HEAD) of ``url``.

    ``headers`` are the caller's, repeated names kept, forwarded to the source minus the
    hop-by-hop ones; a ``Range`` or ``If-Range`` among them is ignored, because ``range`` is
    how a caller asks for part of the object (the client must know what it asked for to check
    what it got). ``timeout`` bounds the whole request in seconds, retries, redirects, resumes
    and reading the body included; None leaves only the per-read timeout.
    """

    url: str
    headers: Sequence[tuple[str, str]] = ()
    range: ByteRange | None = None
    timeout: float | None = None
