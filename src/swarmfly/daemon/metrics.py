"""The daemon's Prometheus metrics, in a registry the daemon owns (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ProxyMetrics:
    """What the proxy port did: requests by mode and outcome, and where the bytes came from."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "swarmfly_proxy_requests",
            "Proxy requests, by mode (mirror, forward, tunnel) and outcome",
            ["mode", "outcome"],
            registry=registry,
        )
        self.store_hits = Counter(
            "swarmfly_proxy_store_hits",
            "Proxy requests answered whole from the local store",
            registry=registry,
        )
        self.bytes = Counter(
            "swarmfly_proxy_bytes",
            "Body bytes sent to proxy clients, by origin: the piece store, or relayed from "
            "the upstream (pass-through, fallback, tunnels)",
            ["origin"],
            registry=registry,
        )
        self.access_checks = Counter(
            "swarmfly_proxy_access_checks",
            "Tenant checks before serving stored bytes, by result (cached, allowed, denied)",
            ["result"],
            registry=registry,
        )
        self.open_tunnels = Gauge(
            "swarmfly_proxy_open_tunnels",
            "CONNECT tunnels open now",
            registry=registry,
        )


class DaemonMetrics:
    """Counters named as Dragonfly's daemon names its own, under the ``swarmfly_`` prefix."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.bytes_from_source = Counter(
            "swarmfly_daemon_source_bytes",
            "Bytes downloaded from the source (back-to-source)",
            registry=self.registry,
        )
        self.bytes_served = Counter(
            "swarmfly_daemon_served_bytes",
            "Bytes served, by the API that served them",
            ["api"],
            registry=self.registry,
        )
        self.pieces = Counter(
            "swarmfly_daemon_pieces",
            "Pieces stored, by where they came from",
            ["origin"],
            registry=self.registry,
        )
        self.tasks = Counter(
            "swarmfly_daemon_tasks",
            "Task downloads finished, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.store_hits = Counter(
            "swarmfly_daemon_store_hits",
            "Requests answered whole from the local store",
            registry=self.registry,
        )
        self.errors = Counter(
            "swarmfly_daemon_errors",
            "Failures, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.proxy = ProxyMetrics(self.registry)
        self.active_downloads = Gauge(
            "swarmfly_daemon_active_downloads",
            "Task downloads in progress",
            registry=self.registry,
        )
