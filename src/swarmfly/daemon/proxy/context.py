"""What every proxy handler is handed, and the outcomes it reports."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from aiohttp import web

from swarmfly.config import ProxyConfig
from swarmfly.daemon.conductor import Conductor
from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.proxy.access import AccessChecker
from swarmfly.daemon.proxy.upstream import UpstreamClient
from swarmfly.storage import PieceStore


class Outcome(enum.StrEnum):
    """How a proxy request was answered (the ``outcome`` label of its metric)."""

    STORE_HIT = "store_hit"  # whole from the store, complete before the request came
    DOWNLOADED = "downloaded"  # from the store as this request's own download landed
    JOINED = "joined"  # from the store as another request's download landed
    PASSTHROUGH = "passthrough"  # relayed to and from the upstream as is
    DENIED = "denied"  # stored, but the upstream would not serve this client: relayed
    FALLBACK = "fallback"  # the store could not take it: streamed straight through
    TUNNEL = "tunnel"  # a CONNECT tunnel
    BACKEND_ERROR = "backend_error"  # the upstream's error status, passed through
    FAILED = "failed"  # the proxy's or the daemon's own failure
    CLIENT_GONE = "client_gone"  # the client left before the answer was complete


@dataclass(frozen=True)
class ProxyContext:
    """The daemon's shared resources, as the proxy uses them."""

    config: ProxyConfig
    conductor: Conductor
    store: PieceStore
    upstream: UpstreamClient
    access: AccessChecker
    metrics: DaemonMetrics


Served = tuple[web.StreamResponse, Outcome]
