"""Source URLs and the redirects between them, as pure functions.

A registry answers a blob GET with a 307 to a signed object-storage URL. Two things must hold
on that hop. The signature must survive byte for byte: yarl re-quotes by default (``%2F``
becomes ``/``), which breaks it, so URLs that are already valid on the wire are taken as
encoded. And the registry's credentials must not travel to a host that is not the registry.
The client follows redirects itself, with these functions, rather than leave either to
aiohttp's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable

from yarl import URL

from swarmfly.logs import redacted_url
from swarmfly.source.errors import SourceURLError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: More hops than this is a loop, or an origin we should not be following.
MAX_REDIRECTS = 10

#: Credentials that reach only the origin the caller addressed (Go's net/http drops the same).
_CREDENTIALS = frozenset({"authorization", "cookie", "cookie2"})

_SCHEMES = frozenset({"http", "https"})


def _as_url(text: str) -> URL:
    """``text`` as a URL, its escapes kept exactly when it is already fit for the wire."""
    on_the_wire = text.isascii() and text.isprintable() and " " not in text
    return URL(text, encoded=on_the_wire)


def parse_source_url(text: str) -> URL:
    """The URL to request for ``text``; raises :class:`SourceURLError` if it is not fetchable."""
    try:
        url = _as_url(text)
    except ValueError as exc:
        raise SourceURLError(f"not a URL: {redacted_url(text)}") from exc
    if url.scheme not in _SCHEMES or not url.host:
        raise SourceURLError(f"not an http(s) URL: {redacted_url(text)}")
    return url


def redirect_target(current: URL, location: str | None) -> URL | None:
    """Where a redirect from ``current`` leads; None when ``Location`` is missing or unusable.

    A relative ``Location`` (``/path``, ``?query``, ``//host/path``) resolves against
    ``current``; the query string is kept exactly as the source wrote it.
    """
    if not location:
        return None
    try:
        target = _as_url(location.strip())
        if not target.scheme:
            target = current.join(target)
    except ValueError:
        return None
    if target.scheme not in _SCHEMES or not target.host:
        return None
    return target


def same_origin(a: URL, b: URL) -> bool:
    """Whether two URLs share scheme, host and (effective) port."""
    return (a.scheme, (a.host or "").lower(), a.port) == (b.scheme, (b.host or "").lower(), b.port)


def headers_for_hop(
    headers: Iterable[tuple[str, str]], original: URL, target: URL
) -> list[tuple[str, str]]:
    """The headers to send to ``target`` when the caller addressed ``original``.

    Credentials go only to the caller's origin: not to another host, another port, or the
    same host over plain HTTP after HTTPS.
    """
    if same_origin(original, target):
        return list(headers)
    return [(name, value) for name, value in headers if name.lower() not in _CREDENTIALS]
