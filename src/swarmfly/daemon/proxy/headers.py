"""Which headers cross the proxy, in each direction, as lists of pairs.

Headers stay pairs from end to end, never a dict: skopeo sends one ``Accept`` line per media
type, and a registry that sees them merged answers "accept header does not support OCI
manifests". Hop-by-hop headers (RFC 9110 §7.6.1, and any the ``Connection`` header names)
describe one connection and stop at the proxy. The client's ``Authorization`` goes on: the
registry, not the proxy, decides who may pull. ``X-Dragonfly-*`` request headers are orders to
the proxy and stop here too. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from swarmfly.source.headers import HOP_BY_HOP
from swarmfly.wire import headers as names

Pairs = list[tuple[str, str]]

#: Never relayed upstream: the upstream's own Host is set from the URL.
_REQUEST_OWNED = frozenset({"host"})

#: The store path fetches whole, uncompressed objects itself, whatever the client asked.
_STORE_OWNED = frozenset(
    {"range", "if-range", "accept-encoding", "content-length", "expect", "content-type"}
)

#: The proxy frames every response itself (Content-Length or chunked).
_RESPONSE_OWNED = frozenset({"content-length"})


def _connection_named(pairs: Iterable[tuple[str, str]]) -> set[str]:
    return {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }


def _without(pairs: Iterable[tuple[str, str]], dropped: frozenset[str]) -> Pairs:
    items = list(pairs)
    drop = HOP_BY_HOP | dropped | _connection_named(items)
    return [(name, value) for name, value in items if name.lower() not in drop]


def upstream_headers(pairs: Iterable[tuple[str, str]]) -> Pairs:
    """What a client's request carries on to the upstream: order and repeats kept."""
    return [
        (name, value)
        for name, value in _without(pairs, _REQUEST_OWNED)
        if not name.lower().startswith(names.PREFIX)
    ]


def store_headers(pairs: Iterable[tuple[str, str]]) -> Pairs:
    """What the store path sends the source when it fetches (or asks about) the whole object."""
    return _without(upstream_headers(pairs), _STORE_OWNED)


def client_headers(pairs: Iterable[tuple[str, str]]) -> Pairs:
    """What an upstream response carries back to the client: order and repeats kept."""
    return _without(pairs, _RESPONSE_OWNED)
