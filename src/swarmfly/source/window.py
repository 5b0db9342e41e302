"""Which bytes of the object a response body carries, and which of them the caller gets.

Sources answer a ranged request in three ways: a 206 with exactly that range, a 206 with a
wider one (allowed by RFC 9110), or a 200 with the whole object because they ignore ``Range``.
:func:`body_window` turns each into one description: where the bytes on the wire start, and
the part of them the caller asked for. The response then discards what lies before and stops
at the end, so the caller never has to care which answer it was. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from swarmfly.errors import InvalidInput
from swarmfly.source.errors import RangeNotSatisfiable, SourceUnavailable
from swarmfly.source.ranges import ByteRange, ContentRange, parse_content_range


@dataclass(frozen=True)
class BodyWindow:
    """What a 2xx body holds and what of it to yield.

    ``wire_start`` is the object offset of the first byte on the wire; ``start``/``end`` the
    object offsets of the first yielded byte and one past the last (``end=None``: until the
    body ends). ``status`` is 206 whenever the yielded bytes are a part of the object, even
    when the source sent the whole of it with a 200.
    """

    status: int
    wire_start: int
    start: int
    end: int | None
    total_length: int | None
    accepts_ranges: bool

    @property
    def content_length(self) -> int | None:
        """How many bytes will be yielded, when known."""
        return None if self.end is None else self.end - self.start


def content_length_of(headers: Mapping[str, str]) -> int | None:
    """``Content-Length`` as a number; None when absent or not one."""
    value = headers.get("Content-Length", "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def advertises_ranges(headers: Mapping[str, str]) -> bool:
    """Whether ``Accept-Ranges`` says the source serves byte ranges."""
    tokens = headers.get("Accept-Ranges", "").lower().split(",")
    return "bytes" in (token.strip() for token in tokens)


def body_window(status: int, headers: Mapping[str, str], requested: ByteRange | None) -> BodyWindow:
    """The window for a 2xx answer with ``headers`` to a request for ``requested``.

    Raises :class:`RangeNotSatisfiable` when a 200 shows the range starts past the end, and
    :class:`SourceUnavailable` for a 206 that cannot be squared with what was asked.
    """
    if status == 206:
        return _partial_window(_content_range(headers), requested)
    total = content_length_of(headers)
    if requested is None:
        return BodyWindow(status, 0, 0, total, total, advertises_ranges(headers))
    if total is not None and requested.start >= total:
        raise RangeNotSatisfiable(
            f"range starts at {requested.start}, object has {total} bytes", total_length=total
        )
    end = None if requested.end is None else requested.end + 1
    if total is not None:
        end = total if end is None else min(end, total)
    whole = requested.start == 0 and end == total
    # The source ignored Range: it may serve ranges elsewhere, but not reliably here.
    return BodyWindow(200 if whole else 206, 0, requested.start, end, total, False)


def _content_range(headers: Mapping[str, str]) -> ContentRange:
    value = headers.get("Content-Range")
    if value is None:
        raise SourceUnavailable("source sent a 206 without Content-Range")
    try:
        return parse_content_range(value)
    except InvalidInput as exc:
        raise SourceUnavailable(f"source sent an unusable Content-Range: {value!r}") from exc


def _partial_window(sent: ContentRange, requested: ByteRange | None) -> BodyWindow:
    start = sent.start if requested is None else requested.start
    if not sent.start <= start <= sent.end:
        raise SourceUnavailable(
            f"source sent bytes {sent.start}-{sent.end} for a range starting at {start}"
        )
    end = sent.end + 1
    if requested is not None and requested.end is not None:
        end = min(end, requested.end + 1)
    return BodyWindow(206, sent.start, start, end, sent.total, True)
