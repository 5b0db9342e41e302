"""Making preheat jobs, the one way the Open API and the console both do it: the body checked
by ``preheat.py``'s rules (each problem an ``InvalidField`` naming its field), the clusters
chosen, the job stored with its args redacted for display, and counted.

"Preheat again" makes a new job from a stored one: the same args, clusters and timeout, with
the stored secrets reused server-side. A job's secrets are scrubbed when it ends, so a job that
had a password or secret headers can be made again only while it is still pending; after
that ``SecretsNotKept`` says they must be given again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swarmfly.config import JobsConfig
from swarmfly.logs import REDACTED
from swarmfly.manager.clock import Clock, system_clock
from swarmfly.manager.clusters import ClusterStore
from swarmfly.manager.errors import InvalidField, SecretsNotKept
from swarmfly.manager.jobs import JobStore, StoredJob
from swarmfly.manager.metrics import ManagerMetrics
from swarmfly.manager.preheat import parse_new_job, parse_preheat, redacted_args
from swarmfly.manager.schedulers import SchedulerRegistry


def secrets_scrubbed(stored: StoredJob) -> bool:
    """Whether the job had secrets that are gone from its spec now."""
    lost_password = stored.args.get("password") == REDACTED and not stored.spec.password
    return lost_password or REDACTED in stored.spec.headers.values()


class JobSubmitter:
    def __init__(
        self,
        *,
        jobs: JobStore,
        clusters: ClusterStore,
        schedulers: SchedulerRegistry,
        metrics: ManagerMetrics,
        config: JobsConfig,
        clock: Clock = system_clock,
    ) -> None:
        self._jobs = jobs
        self._clusters = clusters
        self._schedulers = schedulers
        self._metrics = metrics
        self._config = config
        self._clock = clock

    async def submit(self, body: Any, *, user_id: int | None) -> dict[str, Any]:
        """A new PENDING job from a ``POST /oapi/v1/jobs`` body; its view."""
        new = parse_new_job(body)
        assert new.args is not None
        spec = parse_preheat(
            new.args,
            default_timeout=self._config.default_timeout,
            default_concurrent_count=self._config.default_concurrent_count,
            now=self._clock(),
        )
        cluster_ids = await self._cluster_ids(new.scheduler_cluster_ids)
        view = await self._jobs.create(
            job_type=new.type,
            bio=new.bio,
            spec=spec,
            shown_args=redacted_args(new.args),
            cluster_ids=cluster_ids,
            user_id=user_id,
        )
        self._metrics.jobs_created.labels(type=new.type).inc()
        return view

    async def again(self, job_id: int, *, user_id: int | None) -> dict[str, Any]:
        """A new job like job ``job_id`` (its secrets reused while it still has them)."""
        stored = await self._jobs.stored(job_id)
        if secrets_scrubbed(stored):
            raise SecretsNotKept(job_id)
        deadline = self._clock() + stored.timeout.total_seconds()
        view = await self._jobs.create(
            job_type=stored.type,
            bio=stored.bio,
            spec=stored.spec.model_copy(update={"deadline": deadline}),
            shown_args=stored.args,
            cluster_ids=await self._cluster_ids(stored.cluster_ids),
            user_id=user_id,
        )
        self._metrics.jobs_created.labels(type=stored.type).inc()
        return view

    async def _cluster_ids(self, asked: Sequence[int] | None) -> list[int]:
        """The clusters a job goes to: the ones named (each must exist), else every cluster
        with a live scheduler, else (none is live yet) every cluster."""
        if asked:
            wanted = sorted(set(asked))
            missing = await self._clusters.missing(wanted)
            if missing:
                unknown = ", ".join(map(str, missing))
                raise InvalidField("scheduler_cluster_ids", f"unknown scheduler cluster {unknown}")
            return wanted
        active = await self._schedulers.active_cluster_ids()
        return active or await self._clusters.ids()
