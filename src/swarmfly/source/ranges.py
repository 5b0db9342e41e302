"""Byte-range arithmetic for ``Range`` and ``Content-Range`` (RFC 9110 §14), with no I/O.

The proxy parses a client's ``Range`` here, the client asks the source for one, and both
build ``Content-Range`` from the same functions, so an off-by-one lives in one place only.
Ranges are inclusive at both ends, as on the wire. Only single ranges are supported: a proxy
may ignore a multi-range request, and Dragonfly does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from swarmfly.errors import InvalidInput
from swarmfly.source.errors import RangeNotSatisfiable

# 18 digits stay below 2**63 and keep int() cheap on hostile input.
_POS = r"[0-9]{1,18}"
_RANGE = re.compile(rf"bytes=(?P<first>{_POS})?-(?P<last>{_POS})?", re.ASCII | re.IGNORECASE)
_CONTENT_RANGE = re.compile(
    rf"bytes +(?P<first>{_POS})-(?P<last>{_POS})/(?P<total>{_POS}|\*)", re.ASCII | re.IGNORECASE
)
_UNSATISFIED = re.compile(rf"bytes +\*/(?P<total>{_POS})", re.ASCII | re.IGNORECASE)


@dataclass(frozen=True)
class ContentRange:
    """Bytes ``start`` to ``end`` inclusive of an object of ``total`` bytes (None: unknown).

    Both what a 206's ``Content-Range`` says and what a ``Range`` resolves to once the
    object's length is known, so its ends are always numbers.
    """

    start: int
    end: int
    total: int | None

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end or (self.total is not None and self.end >= self.total):
            raise InvalidInput(f"not a range of the object: {self.start}-{self.end}/{self.total}")

    @property
    def length(self) -> int:
        """How many bytes the body carries."""
        return self.end - self.start + 1

    def byte_range(self) -> ByteRange:
        """The same bytes as a :class:`ByteRange`, to ask a source for them."""
        return ByteRange(self.start, self.end)


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive; ``end=None`` means to the end of the object."""

    start: int
    end: int | None = None

    def __post_init__(self) -> None:
        if self.start < 0 or (self.end is not None and self.end < self.start):
            raise InvalidInput(f"not a byte range: {self.start}-{self.end}")

    @property
    def length(self) -> int | None:
        """How many bytes the range holds, if its end is known."""
        return None if self.end is None else self.end - self.start + 1

    def resolve(self, total_length: int) -> ContentRange:
        """This range within an object of ``total_length`` bytes, its end clamped to the last."""
        if self.start >= total_length:
            raise RangeNotSatisfiable(
                f"range starts at {self.start}, object has {total_length} bytes",
                total_length=total_length,
            )
        last = total_length - 1
        end = last if self.end is None else min(self.end, last)
        return ContentRange(self.start, end, total_length)


@dataclass(frozen=True)
class SuffixRange:
    """The last ``length`` bytes (``bytes=-length``): a position only once the size is known."""

    length: int

    def resolve(self, total_length: int) -> ContentRange:
        """The absolute range this suffix names in an object of ``total_length`` bytes."""
        if self.length == 0 or total_length == 0:
            raise RangeNotSatisfiable(
                f"suffix of {self.length} bytes of a {total_length}-byte object",
                total_length=total_length,
            )
        return ContentRange(max(0, total_length - self.length), total_length - 1, total_length)


RangeSpec = ByteRange | SuffixRange


def parse_range_spec(value: str) -> RangeSpec:
    """Parse a ``Range`` header that names one range, without knowing the object's size.

    Raises :class:`InvalidInput` for anything malformed, and for several ranges at once.
    """
    text = value.strip()
    if "," in text:
        raise InvalidInput(f"only a single range is supported: {value!r}")
    match = _RANGE.fullmatch(text)
    if match is None:
        raise InvalidInput(f"malformed Range header: {value!r}")
    first, last = match["first"], match["last"]
    if first is None:
        if last is None:
            raise InvalidInput(f"malformed Range header: {value!r}")
        return SuffixRange(int(last))
    start, end = int(first), None if last is None else int(last)
    if end is not None and end < start:
        raise InvalidInput(f"range ends before it starts: {value!r}")
    return ByteRange(start, end)


def parse_range_header(value: str, total_length: int) -> ContentRange:
    """Parse a ``Range`` header and resolve it against an object of ``total_length`` bytes.

    Raises :class:`InvalidInput` when malformed, :class:`RangeNotSatisfiable` when it lies
    wholly outside the object (a 416, with ``Content-Range: bytes */total``).
    """
    return parse_range_spec(value).resolve(total_length)


def format_range(spec: RangeSpec) -> str:
    """The ``Range`` header value asking for ``spec``."""
    if isinstance(spec, SuffixRange):
        return f"bytes=-{spec.length}"
    return f"bytes={spec.start}-" if spec.end is None else f"bytes={spec.start}-{spec.end}"


def format_content_range(content_range: ContentRange) -> str:
    """The ``Content-Range`` value for a 206 carrying ``content_range``: ``bytes a-b/total``."""
    total = "*" if content_range.total is None else str(content_range.total)
    return f"bytes {content_range.start}-{content_range.end}/{total}"


def format_unsatisfied_content_range(total_length: int) -> str:
    """The ``Content-Range`` value for a 416: ``bytes */total``."""
    return f"bytes */{total_length}"


def parse_content_range(value: str) -> ContentRange:
    """Parse ``Content-Range: bytes a-b/total`` (or ``/*``) from a 206.

    Raises :class:`InvalidInput` when malformed or self-contradictory.
    """
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None:
        raise InvalidInput(f"malformed Content-Range: {value!r}")
    total = None if match["total"] == "*" else int(match["total"])
    return ContentRange(int(match["first"]), int(match["last"]), total)


def parse_unsatisfied_total(value: str | None) -> int | None:
    """The total from a 416's ``Content-Range: bytes */total``; None when absent or malformed."""
    if value is None:
        return None
    match = _UNSATISFIED.fullmatch(value.strip())
    return None if match is None else int(match["total"])
