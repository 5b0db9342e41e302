"""The manager's Prometheus metrics, in a registry the manager owns (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ManagerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs_created = Counter(
            "swarmfly_manager_jobs_created",
            "Jobs created through the Open API or the console, by type",
            ["type"],
            registry=self.registry,
        )
        self.jobs_finished = Counter(
            "swarmfly_manager_jobs_finished",
            "Jobs that reached a terminal state, by state",
            ["state"],
            registry=self.registry,
        )
        self.jobs_timed_out = Counter(
            "swarmfly_manager_jobs_timed_out",
            "Jobs failed by the janitor because their deadline passed",
            registry=self.registry,
        )
        self.claims = Counter(
            "swarmfly_manager_work_claims",
            "Claims for preheat work from schedulers, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.claims_waiting = Gauge(
            "swarmfly_manager_claims_waiting",
            "Scheduler claims held open, waiting for preheat work to arrive",
            registry=self.registry,
        )
        self.work_results = Counter(
            "swarmfly_manager_work_results",
            "Work results written, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "swarmfly_manager_openapi_auth_failures",
            "Open API requests refused, by status",
            ["status"],
            registry=self.registry,
        )
        self.console_sign_ins = Counter(
            "swarmfly_manager_console_sign_ins",
            "Sign-ins at the console, by outcome (success, failure, locked)",
            ["outcome"],
            registry=self.registry,
        )
        self.schedulers_inactive = Counter(
            "swarmfly_manager_schedulers_inactive",
            "Schedulers marked inactive after falling silent",
            registry=self.registry,
        )
