"""Which of the caller's headers reach the source, and which validators make a resume safe.

The proxy hands the source client the headers its own client sent (a registry
``Authorization`` among them). Hop-by-hop headers describe the caller's connection, not ours,
so they stop here (RFC 9110 §7.6.1), as do the headers this client must own to get the bytes
it promises: ``Range``/``If-Range`` (set from :attr:`SourceRequest.range` and the resume
logic), ``Host`` and ``Content-Length``. Pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from swarmfly.source.ranges import ByteRange, format_range

#: Headers that belong to one connection (RFC 9110 §7.6.1, plus the common Proxy-Connection).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

#: Headers this client sets itself; a caller's copy would contradict what we expect back.
_OWNED = frozenset({"host", "content-length", "expect", "range", "if-range"})

#: Without this, aiohttp asks for gzip; with decompression off we would store gzip bytes
#: that no digest matches. A caller that sends its own Accept-Encoding gets what it asked.
_IDENTITY = ("Accept-Encoding", "identity")


def forwardable_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The caller's headers minus hop-by-hop and owned ones; order and repeats are kept.

    Names listed in the caller's ``Connection`` header are hop-by-hop too.
    """
    items = list(headers)
    named = {
        token.strip().lower()
        for name, value in items
        if name.lower() == "connection"
        for token in value.split(",")
    }
    dropped = HOP_BY_HOP | _OWNED | named
    return [(name, value) for name, value in items if name.lower() not in dropped]


def request_headers(
    headers: Iterable[tuple[str, str]],
    byte_range: ByteRange | None = None,
    if_range: str | None = None,
) -> list[tuple[str, str]]:
    """Everything sent to the source: forwardable caller headers, then ours."""
    result = forwardable_headers(headers)
    if not any(name.lower() == "accept-encoding" for name, _ in result):
        result.append(_IDENTITY)
    if byte_range is not None:
        result.append(("Range", format_range(byte_range)))
        if if_range is not None:
            result.append(("If-Range", if_range))
    return result


def resume_validator(headers: Mapping[str, str]) -> str | None:
    """The value for ``If-Range`` that proves a resumed body is the same object.

    A strong ETag when there is one; weak ETags cannot be used (RFC 9110 §13.1.5), so then
    ``Last-Modified``; None when the source gave neither. ``headers`` must look names up
    case-insensitively, as a response's do.
    """
    etag = headers.get("ETag")
    if etag is not None and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")
