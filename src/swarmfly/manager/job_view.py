"""A job as the Open API shows it (Dragonfly's job object, keys in snake_case; see
``contracts/openapi-notes.md``): one ``job_states`` entry per cluster's work, each with its
blobs split into ``success_tasks``, ``failure_tasks`` and (ours) ``pending_tasks``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from swarmfly.manager.clock import rfc3339
from swarmfly.manager.clusters import cluster_view
from swarmfly.manager.models import Job, JobWork, SchedulerCluster
from swarmfly.manager.work import JobState, blobs_by_state
from swarmfly.wire.manager import BlobState

TASK_NAME = "preheat"


def _job_state_entry(work: JobWork) -> dict[str, Any]:
    blobs = blobs_by_state(work.blobs)
    return {
        "task_uuid": work.task_uuid,
        "task_name": TASK_NAME,
        "state": work.state,
        "error": work.error,
        "ttl": 0,
        "created_at": rfc3339(work.created_at),
        "updated_at": rfc3339(work.updated_at),
        "scheduler_cluster_id": work.cluster_id,
        "attempts": work.attempts,
        "results": [
            {
                "scheduler_cluster_id": work.cluster_id,
                "success_tasks": blobs[BlobState.SUCCESS],
                "failure_tasks": blobs[BlobState.FAILURE],
                "pending_tasks": blobs[BlobState.PENDING],
            }
        ],
    }


def _result(job: Job, works: Sequence[JobWork]) -> dict[str, Any] | None:
    if job.started_at is None and job.state == JobState.PENDING:
        return None  # no scheduler took it yet
    return {
        "group_uuid": job.task_id,
        "state": job.state,
        "error": job.error,
        "created_at": rfc3339(job.started_at or job.updated_at),
        "updated_at": rfc3339(job.updated_at),
        "job_states": [_job_state_entry(work) for work in works],
    }


def job_view(
    job: Job, works: Sequence[JobWork], clusters: Mapping[int, SchedulerCluster]
) -> dict[str, Any]:
    return {
        "id": job.id,
        "created_at": rfc3339(job.created_at),
        "updated_at": rfc3339(job.updated_at),
        "is_del": job.is_del,
        "task_id": job.task_id,
        "bio": job.bio,
        "type": job.type,
        "state": job.state,
        "args": job.args,
        "result": _result(job, works),
        "user_id": job.user_id or 0,
        "scheduler_clusters": [
            cluster_view(clusters[work.cluster_id]) for work in works if work.cluster_id in clusters
        ],
        "seed_peer_clusters": [],
    }
