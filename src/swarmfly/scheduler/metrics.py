"""The scheduler's Prometheus metrics, in a registry the scheduler owns (never the global one)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge


class SchedulerMetrics:
    """Counters of decisions, and gauges read from the state when scraped."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.hosts = Gauge(
            "swarmfly_scheduler_hosts", "Hosts known, by type", ["type"], registry=self.registry
        )
        self.peers = Gauge("swarmfly_scheduler_peers", "Peers known", registry=self.registry)
        self.tasks = Gauge("swarmfly_scheduler_tasks", "Tasks known", registry=self.registry)
        self.announces = Counter(
            "swarmfly_scheduler_announces",
            "Announces and reschedules answered, by action",
            ["action"],
            registry=self.registry,
        )
        self.back_to_source = Counter(
            "swarmfly_scheduler_back_to_source",
            "Peers sent to the source, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.seed_orders = Counter(
            "swarmfly_scheduler_seed_orders",
            "Download orders sent to seed peers, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.bad_parents = Counter(
            "swarmfly_scheduler_bad_parents",
            "Parents reported bad by their children, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.hosts_dropped = Counter(
            "swarmfly_scheduler_hosts_dropped",
            "Hosts dropped after falling silent",
            registry=self.registry,
        )
        self.results = Counter(
            "swarmfly_scheduler_peer_results",
            "Peers that reported their result, by outcome",
            ["outcome"],
            registry=self.registry,
        )

    def watch(
        self,
        *,
        seed_hosts: Callable[[], int],
        normal_hosts: Callable[[], int],
        peers: Callable[[], int],
        tasks: Callable[[], int],
    ) -> None:
        """Read the gauges from the state at scrape time, so they can never drift."""
        self.hosts.labels(type="seed").set_function(seed_hosts)
        self.hosts.labels(type="normal").set_function(normal_hosts)
        self.peers.set_function(peers)
        self.tasks.set_function(tasks)
