"""The Open API's contract (``contracts/openapi-notes.md``), status by status and body by body,
on SQLite and on PostgreSQL: tokens (401/403), jobs (200/404/422, paging, delete), clusters,
and the secrets that never come back."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from swarmfly.manager.appkeys import TOKENS
from swarmfly.wire.manager import WorkProgress
from swarmfly.wire.manager_client import ManagerClient
from tests.integration.manager.conftest import Manager
from tests.integration.manager.scheduler import FakeScheduler

MANIFEST = "https://registry.test:5000/v2/test/team/app/manifests/v1"
SECRETS = ("hunter2-registry-password", "registry-bearer-s3cret")
HARBOR_BODY = {
    "type": "preheat",
    "args": {
        "type": "image",
        "url": MANIFEST,
        "tag": "",
        "filtered_query_params": "",
        "headers": {"Authorization": f"Bearer {SECRETS[1]}"},
        "scope": "single_seed_peer",
        "concurrent_count": 0,
        "timeout": 0,
        "username": "robot",
        "password": SECRETS[0],
    },
    "scheduler_cluster_ids": None,
}
JOB_KEYS = {
    "id", "created_at", "updated_at", "is_del", "task_id", "bio", "type", "state", "args",
    "result", "user_id", "scheduler_clusters", "seed_peer_clusters",
}  # fmt: skip
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def _call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None = None,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    async with session.request(method, url, json=body, headers=sent) as response:
        text = await response.text()
        return response.status, (await response.json() if text else None), response


async def test_health(manager: Manager, session: aiohttp.ClientSession) -> None:
    async with session.get(f"{manager.url}/healthy") as response:
        assert response.status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer a b"},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer sfpat_nobody_issued_this"},
    ],
)
async def test_401(
    manager: Manager, session: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    for method, path in (
        ("GET", "/jobs"),
        ("POST", "/jobs"),
        ("GET", "/jobs/1"),
        ("GET", "/clusters"),
    ):
        status, body, _ = await _call(session, method, manager.oapi(path), headers=headers, body={})
        assert (status, body) == (401, {"message": "Unauthorized"})


async def test_token_forms(manager: Manager, session: aiohttp.ClientSession) -> None:
    token = await manager.token()
    for headers, query in (
        ({"Authorization": f"bearer {token}"}, ""),
        ({"Authorization": f"BEARER   {token}"}, ""),
        ({}, f"?access_token={token}"),
    ):
        status, _, _ = await _call(session, "GET", manager.oapi(f"/jobs{query}"), headers=headers)
        assert status == 200
    status, body, _ = await _call(session, "GET", manager.oapi(f"/jobs?access_token={token}x"))
    assert (status, body) == (401, {"message": "Unauthorized"})


async def test_403(manager: Manager, session: aiohttp.ClientSession) -> None:
    job_token = await manager.token(("job",))
    cluster_token = await manager.token(("cluster",))
    status, body, _ = await _call(session, "GET", manager.oapi("/clusters"), job_token)
    assert status == 403 and "cluster" in body["message"] and set(body) == {"message"}
    status, body, _ = await _call(
        session, "POST", manager.oapi("/jobs"), cluster_token, body=HARBOR_BODY
    )
    assert status == 403 and "job" in body["message"]
    short = await manager.token(("job",), expires_in=timedelta(minutes=5))
    manager.clock.advance(301)
    status, body, _ = await _call(session, "GET", manager.oapi("/jobs"), short)
    assert (status, body) == (403, {"message": "Token has expired"})
    [first, *_] = await manager.app[TOKENS].tokens()
    await manager.app[TOKENS].revoke(first.name)
    status, body, _ = await _call(session, "GET", manager.oapi("/jobs"), job_token)
    assert (status, body) == (403, {"message": "Token is inactive"})


async def test_create_as_harbor_does(
    manager: Manager, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="swarmfly")
    token = await manager.token()
    status, job, response = await _call(
        session, "POST", manager.oapi("/jobs"), token, body=HARBOR_BODY
    )
    assert status == 200
    assert response.content_type == "application/json"
    assert set(job) == JOB_KEYS
    assert job["state"] == "PENDING" and job["result"] is None and job["type"] == "preheat"
    assert isinstance(job["id"], int) and job["is_del"] == 0 and job["user_id"] >= 1
    assert re.match(r"^group_[0-9a-f-]{36}$", job["task_id"])
    assert RFC3339.match(job["created_at"]) and RFC3339.match(job["updated_at"])
    assert job["args"]["password"] == "<redacted>"
    assert job["args"]["headers"] == {"Authorization": "<redacted>"}
    assert job["args"]["username"] == "robot" and job["args"]["timeout"] == 0
    [cluster] = job["scheduler_clusters"]
    assert cluster["id"] == 1 and cluster["name"] == "cluster-1" and cluster["is_default"]
    assert cluster["config"] == {"candidate_parent_limit": 4, "filter_parent_limit": 15}
    assert cluster["client_config"] == {"load_limit": 200}
    assert job["seed_peer_clusters"] == []
    status, again, _ = await _call(session, "GET", manager.oapi(f"/jobs/{job['id']}"), token)
    assert status == 200 and again == job
    status, listed, _ = await _call(session, "GET", manager.oapi("/jobs"), token)
    text = repr([job, again, listed])
    for secret in SECRETS:
        assert secret not in text
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "nonsense"}, "type"),
        ({"args": None}, "args"),
        ({"scheduler_cluster_ids": [42]}, "scheduler_cluster_ids"),
        ({"args": {**HARBOR_BODY["args"], "url": ""}}, "args.url"),
        (
            {"args": {**HARBOR_BODY["args"], "url": "https://registry.test/v2/app/tags/list"}},
            "args.url",
        ),
        ({"args": {**HARBOR_BODY["args"], "type": "layer"}}, "args.type"),
        ({"args": {**HARBOR_BODY["args"], "piece_length": 1024}}, "args.piece_length"),
        ({"args": {**HARBOR_BODY["args"], "pieceLength": 1 << 30}}, "args.piece_length"),
        ({"args": {**HARBOR_BODY["args"], "scope": "everyone"}}, "args.scope"),
        ({"args": {**HARBOR_BODY["args"], "platform": "linux-amd64"}}, "args.platform"),
    ],
)
async def test_422_names_the_field(
    manager: Manager, session: aiohttp.ClientSession, change: dict[str, Any], field: str
) -> None:
    token = await manager.token()
    status, body, _ = await _call(
        session, "POST", manager.oapi("/jobs"), token, body={**HARBOR_BODY, **change}
    )
    assert status == 422 and set(body) == {"errors"}
    assert body["errors"].startswith(f"{field}: ")
    _, jobs, _ = await _call(session, "GET", manager.oapi("/jobs"), token)
    assert jobs == []  # nothing was made


async def test_422_for_a_body_that_is_not_json(
    manager: Manager, session: aiohttp.ClientSession
) -> None:
    token = await manager.token()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with session.post(manager.oapi("/jobs"), data=b"{not json", headers=headers) as response:
        assert response.status == 422
        assert (await response.json())["errors"].startswith("body: ")


async def test_404_and_bad_ids(manager: Manager, session: aiohttp.ClientSession) -> None:
    token = await manager.token()
    for method in ("GET", "DELETE"):
        status, body, _ = await _call(session, method, manager.oapi("/jobs/999"), token)
        assert status == 404 and set(body) == {"message"}
        status, body, _ = await _call(session, method, manager.oapi("/jobs/abc"), token)
        assert status == 422 and body["errors"].startswith("id: ")


async def test_list_pages_newest_first_with_links(
    manager: Manager, session: aiohttp.ClientSession
) -> None:
    token = await manager.token()
    ids = []
    for _ in range(5):
        _, job, _ = await _call(session, "POST", manager.oapi("/jobs"), token, body=HARBOR_BODY)
        ids.append(job["id"])
    status, page, response = await _call(
        session, "GET", manager.oapi("/jobs?page=2&per_page=2&type=preheat"), token
    )
    assert status == 200 and [job["id"] for job in page] == [ids[2], ids[1]]
    assert response.headers["Link"] == (
        "</oapi/v1/jobs?page=1&per_page=2&type=preheat>;rel=prev,"
        "</oapi/v1/jobs?page=3&per_page=2&type=preheat>;rel=next,"
        "</oapi/v1/jobs?page=1&per_page=2&type=preheat>;rel=first,"
        "</oapi/v1/jobs?page=3&per_page=2&type=preheat>;rel=last"
    )
    _, default, _ = await _call(session, "GET", manager.oapi("/jobs"), token)
    assert [job["id"] for job in default] == ids[::-1]
    _, done, _ = await _call(session, "GET", manager.oapi("/jobs?state=SUCCESS"), token)
    assert done == []
    _, pending, _ = await _call(
        session, "GET", manager.oapi("/jobs?state=PENDING&per_page=1"), token
    )
    assert [job["id"] for job in pending] == [ids[-1]]
    for query, field in (
        ("state=RUNNING", "state"),
        ("page=0", "page"),
        ("per_page=x", "per_page"),
    ):
        status, body, _ = await _call(session, "GET", manager.oapi(f"/jobs?{query}"), token)
        assert status == 422 and body["errors"].startswith(f"{field}: ")
    status, body, response = await _call(
        session, "GET", manager.oapi(f"/jobs?access_token={token}")
    )
    assert token not in response.headers["Link"]


async def test_delete_cancels_the_work(manager: Manager, session: aiohttp.ClientSession) -> None:
    token = await manager.token()
    scheduler = await FakeScheduler.join(ManagerClient(session, manager.url))
    _, job, _ = await _call(session, "POST", manager.oapi("/jobs"), token, body=HARBOR_BODY)
    work = await scheduler.claim()
    assert work is not None and work.job_id == job["id"]
    status, body, _ = await _call(session, "DELETE", manager.oapi(f"/jobs/{job['id']}"), token)
    assert status == 200
    lease = await scheduler.client.progress(work.work_id, WorkProgress(), scheduler_id=scheduler.id)
    assert lease.cancelled
    status, _, _ = await _call(session, "GET", manager.oapi(f"/jobs/{job['id']}"), token)
    assert status == 404
    _, listed, _ = await _call(session, "GET", manager.oapi("/jobs"), token)
    assert listed == []


async def test_clusters(manager: Manager, session: aiohttp.ClientSession) -> None:
    token = await manager.token(("job", "cluster"))
    status, created, _ = await _call(
        session,
        "POST",
        manager.oapi("/clusters"),
        token,
        body={"name": "cluster-2", "bio": "eu", "config": {"candidate_parent_limit": 6}},
    )
    assert status == 200 and created["id"] == 2 and not created["is_default"]
    assert created["config"] == {"candidate_parent_limit": 6, "filter_parent_limit": 15}
    status, clusters, response = await _call(session, "GET", manager.oapi("/clusters"), token)
    assert [c["name"] for c in clusters] == ["cluster-1", "cluster-2"]
    assert "rel=last" in response.headers["Link"]
    status, one, _ = await _call(session, "GET", manager.oapi("/clusters/2"), token)
    assert one == created
    status, body, _ = await _call(
        session, "POST", manager.oapi("/clusters"), token, body={"name": "cluster-2"}
    )
    assert status == 409 and set(body) == {"message"}
    status, body, _ = await _call(
        session, "POST", manager.oapi("/clusters"), token, body={"bio": "x"}
    )
    assert status == 422 and body["errors"].startswith("name: ")
    status, body, _ = await _call(session, "GET", manager.oapi("/clusters/9"), token)
    assert status == 404
    status, job, _ = await _call(
        session,
        "POST",
        manager.oapi("/jobs"),
        token,
        body={**HARBOR_BODY, "scheduler_cluster_ids": [2]},
    )
    assert status == 200 and [c["id"] for c in job["scheduler_clusters"]] == [2]


async def test_no_cluster_named_means_the_clusters_with_a_live_scheduler(
    manager: Manager, session: aiohttp.ClientSession
) -> None:
    token = await manager.token(("job", "cluster"))
    await _call(session, "POST", manager.oapi("/clusters"), token, body={"name": "cluster-2"})
    _, job, _ = await _call(session, "POST", manager.oapi("/jobs"), token, body=HARBOR_BODY)
    assert [c["id"] for c in job["scheduler_clusters"]] == [1, 2]  # nobody is live yet: all
    await FakeScheduler.join(ManagerClient(session, manager.url), cluster_id=2)
    _, job, _ = await _call(
        session,
        "POST",
        manager.oapi("/jobs"),
        token,
        body={**HARBOR_BODY, "scheduler_cluster_ids": []},
    )
    assert [c["id"] for c in job["scheduler_clusters"]] == [2]


async def test_polls_never_fail_while_schedulers_write(
    manager: Manager, session: aiohttp.ClientSession
) -> None:
    token = await manager.token()
    _, job, _ = await _call(session, "POST", manager.oapi("/jobs"), token, body=HARBOR_BODY)
    scheduler = await FakeScheduler.join(ManagerClient(session, manager.url))
    work = await scheduler.claim()
    assert work is not None

    async def poll() -> int:
        status, _, _ = await _call(session, "GET", manager.oapi(f"/jobs/{job['id']}"), token)
        return status

    async def write(n: int) -> None:
        await scheduler.client.progress(
            work.work_id,
            WorkProgress(blobs=[scheduler.blob(f"{n:064x}")]),
            scheduler_id=scheduler.id,
        )

    statuses = await asyncio.gather(
        *(poll() for _ in range(150)),
        *(write(n) for n in range(40)),
        *(manager.token() for _ in range(5)),
    )
    assert [s for s in statuses[:150] if s != 200] == []
