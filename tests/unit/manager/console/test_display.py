"""What a job looks like in the console, from the Open API's view of it."""

from __future__ import annotations

from typing import Any

import pytest

from swarmfly.logs import REDACTED
from swarmfly.manager.console.display import HIDDEN, arguments, badge, job_detail, plain_error


def view(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 3,
        "created_at": "2026-11-26T12:22:34Z",
        "updated_at": "2026-11-26T12:25:00Z",
        "bio": "b",
        "type": "preheat",
        "state": "PENDING",
        "args": {"type": "file", "url": "https://a.test/1", "urls": ["https://a.test/2"]},
        "result": None,
        "scheduler_clusters": [{"id": 1, "name": "east"}],
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("state", "icon", "label"),
    [("PENDING", "◷", "Pending"), ("SUCCESS", "✓", "Success"), ("FAILURE", "✕", "Failure")],
)
def test_states_have_an_icon_and_a_word(state: str, icon: str, label: str) -> None:
    assert (badge(state).icon, badge(state).label) == (icon, label)


def test_a_running_job() -> None:
    blob = {"url": "u", "task_id": "t", "hostname": "seed", "ip": "10.0.0.1", "size": 200}
    result = {
        "error": "",
        "job_states": [
            {
                "results": [
                    {
                        "pending_tasks": [{**blob, "bytes_done": 50, "state": "PENDING"}],
                        "success_tasks": [{**blob, "bytes_done": 200, "state": "SUCCESS"}],
                        "failure_tasks": [],
                    }
                ]
            }
        ],
    }
    detail = job_detail(view(result=result))
    assert detail.row.url == "https://a.test/1" and detail.row.more_urls == 1
    assert detail.row.created_at == "2026-11-26 12:22:34 UTC"
    assert [b.percent for b in detail.blobs] == [25, 100]
    assert detail.blobs[0].seed_peer == "seed (10.0.0.1)"
    assert detail.clusters == ["east"] and detail.started and not detail.error


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        ("scheduler cluster 1: registry said no", "On east: registry said no"),
        ("scheduler cluster 9: x", "On cluster 9: x"),
        (
            "scheduler cluster 1: the job was deleted",
            "The job was deleted before east finished it.",
        ),
        ("deleted", "deleted"),
    ],
)
def test_errors_in_plain_words(error: str, shown: str) -> None:
    assert plain_error(error, {1: "east"}) == shown


def test_secrets_are_hidden() -> None:
    shown = {
        a.label: a.value
        for a in arguments(
            {"password": REDACTED, "headers": {"Authorization": REDACTED, "X": "1"}, "tag": ""}
        )
    }
    assert shown == {"Password": HIDDEN, "Headers": [f"Authorization: {HIDDEN}", "X: 1"]}
