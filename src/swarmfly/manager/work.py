"""The rules of preheat work, as plain functions: the states of a work item (one job on one
cluster) and of a job, how a job's state follows from its work, and how blob reports merge.

    work:  PENDING ──claim──▶ RUNNING ──result──▶ SUCCESS | FAILURE
              ▲                  │ lease lapses: claimable again (still RUNNING until claimed)
              └──────────────────┘
           any live state ──deadline──▶ FAILURE ("timeout");  ──job deleted──▶ CANCELLED

    job:   PENDING until every work item ended; FAILURE as soon as one failed; SUCCESS when all
           succeeded. Only these three ever reach the Open API (Harbor fails on anything else).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from swarmfly.wire.manager import BlobResult, BlobState


class WorkState(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELLED = "CANCELLED"

    @property
    def is_live(self) -> bool:
        return self in (WorkState.PENDING, WorkState.RUNNING)


LIVE_WORK_STATES = (WorkState.PENDING.value, WorkState.RUNNING.value)


class JobState(StrEnum):
    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


def job_state(work_states: Iterable[str]) -> JobState:
    """The job's state from its work items' states."""
    states = [WorkState(state) for state in work_states]
    if any(state in (WorkState.FAILURE, WorkState.CANCELLED) for state in states):
        return JobState.FAILURE
    if states and all(state is WorkState.SUCCESS for state in states):
        return JobState.SUCCESS
    return JobState.PENDING


def first_error(errors: Iterable[tuple[int, str]]) -> str:
    """The job's error: the first cluster's that has one, named by its cluster."""
    for cluster_id, error in errors:
        if error:
            return f"scheduler cluster {cluster_id}: {error}"
    return ""


def _blob_key(blob: BlobResult) -> tuple[str, str, str, str]:
    return (blob.task_id, blob.url, blob.hostname, blob.ip)


def merge_blobs(stored: Sequence[dict[str, Any]], reported: Sequence[BlobResult]) -> list[Any]:
    """The stored blob reports updated by new ones (same task on the same seed peer replaces
    its entry, a new one is appended), in the order they were first reported."""
    merged = {
        _blob_key(blob): blob for blob in (BlobResult.model_validate(entry) for entry in stored)
    }
    for blob in reported:
        merged[_blob_key(blob)] = blob
    return [blob.model_dump(mode="json") for blob in merged.values()]


def blobs_by_state(blobs: Sequence[dict[str, Any]]) -> dict[BlobState, list[dict[str, Any]]]:
    """Stored blob reports split by state, as the Open API shows them."""
    split: dict[BlobState, list[dict[str, Any]]] = {state: [] for state in BlobState}
    for entry in blobs:
        blob = BlobResult.model_validate(entry)
        view: dict[str, Any] = {
            "url": blob.url,
            "hostname": blob.hostname,
            "ip": blob.ip,
            "task_id": blob.task_id,
            "size": blob.size,
            "bytes_done": blob.bytes_done,
            "state": blob.state.value,
        }
        if blob.state is BlobState.FAILURE:
            view["description"] = blob.description
        split[blob.state].append(view)
    return split
