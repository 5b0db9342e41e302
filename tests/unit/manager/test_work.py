"""The job's state from its work, and blob reports merged by task and seed peer."""

from __future__ import annotations

import pytest

from swarmfly.manager.work import JobState, blobs_by_state, first_error, job_state, merge_blobs
from swarmfly.wire.manager import BlobResult, BlobState


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], JobState.PENDING),
        (["PENDING"], JobState.PENDING),
        (["RUNNING", "SUCCESS"], JobState.PENDING),
        (["SUCCESS"], JobState.SUCCESS),
        (["SUCCESS", "SUCCESS"], JobState.SUCCESS),
        (["RUNNING", "FAILURE"], JobState.FAILURE),
        (["SUCCESS", "FAILURE"], JobState.FAILURE),
        (["SUCCESS", "CANCELLED"], JobState.FAILURE),
    ],
)
def test_job_state(states: list[str], expected: JobState) -> None:
    assert job_state(states) is expected


def test_first_error_names_its_cluster() -> None:
    assert first_error([(1, ""), (2, "timeout"), (3, "401")]) == "scheduler cluster 2: timeout"
    assert first_error([(1, "")]) == ""


def _blob(task: str, host: str, state: BlobState, done: int = 0) -> BlobResult:
    return BlobResult(url=f"u/{task}", task_id=task, hostname=host, bytes_done=done, state=state)


def test_merge_replaces_the_same_blob_on_the_same_peer_and_keeps_order() -> None:
    stored = merge_blobs(
        [], [_blob("a", "s1", BlobState.PENDING), _blob("b", "s1", BlobState.PENDING)]
    )
    merged = merge_blobs(
        stored,
        [_blob("a", "s1", BlobState.SUCCESS, 10), _blob("a", "s2", BlobState.FAILURE)],
    )
    assert [(b["task_id"], b["hostname"], b["state"]) for b in merged] == [
        ("a", "s1", "SUCCESS"),
        ("b", "s1", "PENDING"),
        ("a", "s2", "FAILURE"),
    ]
    split = blobs_by_state(merged)
    assert [b["task_id"] for b in split[BlobState.SUCCESS]] == ["a"]
    assert split[BlobState.FAILURE][0]["description"] == ""
    assert "description" not in split[BlobState.PENDING][0]
