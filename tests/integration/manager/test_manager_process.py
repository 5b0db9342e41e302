"""``python -m swarmfly manager`` as a process, on SQLite and PostgreSQL: the ready line, health
and metrics, the root password file, the tokens CLI end to end, Harbor's calls replayed with a
scheduler doing the work through ManagerClient, the timeout janitor, and no secret in the log."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from swarmfly.wire.manager import ClaimWork
from swarmfly.wire.manager_client import ManagerClient
from tests.integration.conftest import run_cli
from tests.integration.manager.conftest import StartManager
from tests.integration.manager.scheduler import FakeScheduler
from tests.support.manager import database_dsn
from tests.support.metrics import scrape
from tests.support.processes import Process

REGISTRY_TOKEN = "registry-bearer-t0ken-s3cret"
PASSWORD = "hunter2-registry-pa55word"
MANIFEST = "https://registry.test:5000/v2/library/team/app/manifests/v1.0"
DIGESTS = ["a" * 64, "b" * 64, "c" * 64]
# Harbor's body, exactly: snake_case with zero values, and no cluster named
HARBOR_BODY = {
    "type": "preheat",
    "args": {
        "type": "image",
        "url": MANIFEST,
        "tag": "",
        "filtered_query_params": "",
        "headers": {"Authorization": f"Bearer {REGISTRY_TOKEN}"},
        "scope": "single_seed_peer",
        "concurrent_count": 0,
        "timeout": 0,
    },
    "scheduler_cluster_ids": None,
}


@pytest.fixture
async def dsn(backend: str, request: pytest.FixtureRequest) -> str:
    return await database_dsn(backend, request)


def _base(process: Process) -> str:
    return f"http://127.0.0.1:{process.port('port')}"


def _config(process: Process) -> str:
    return str(process.log_path.parent / "manager.yaml")


async def _token(process: Process, name: str, scopes: str = "job") -> str:
    code, out, err = await run_cli(
        "token", "create", "--name", name, "--scopes", scopes, "--config", _config(process)
    )
    assert code == 0, err
    token = out.strip()
    assert token.startswith("sfpat_") and "\n" not in token
    assert token not in err
    return token


async def _harbor(
    session: aiohttp.ClientSession, method: str, url: str, token: str, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with session.request(method, url, json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_starts_with_its_first_data_and_serves_health_and_metrics(
    start_manager: StartManager, dsn: str, session: aiohttp.ClientSession
) -> None:
    process = await start_manager(dsn)
    path = Path(process.log_path.parent / "data" / "root-password")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    password = path.read_text().strip()
    assert f"root password written to {path}" in process.log_text()
    assert password not in process.log_text()
    async with session.get(f"{_base(process)}/healthy") as response:
        assert response.status == 200
    async with session.get(f"{_base(process)}/metrics") as response:
        assert "swarmfly_manager_jobs_created_total" in await response.text()
    await process.stop()
    again = await start_manager(dsn, name="manager")  # same data dir and database
    assert path.read_text().strip() == password
    assert again.log_text().count("root password written") == 1


async def test_tokens_cli_end_to_end(
    start_manager: StartManager, dsn: str, session: aiohttp.ClientSession
) -> None:
    process = await start_manager(dsn)
    token = await _token(process, "harbor", "job")
    jobs = f"{_base(process)}/oapi/v1/jobs"
    assert (await _harbor(session, "GET", jobs, token))[0] == 200
    assert (await _harbor(session, "GET", f"{_base(process)}/oapi/v1/clusters", token))[0] == 403
    code, out, _ = await run_cli("token", "list", "--config", _config(process))
    assert code == 0 and "harbor" in out and "job" in out and token not in out
    code, _, err = await run_cli(
        "token", "create", "--name", "harbor", "--config", _config(process)
    )
    assert code == 1 and "exists already" in err
    code, _, err = await run_cli(
        "token", "create", "--name", "x", "--scopes", "admin", "--config", _config(process)
    )
    assert code == 1 and "unknown scope" in err
    code, _, _ = await run_cli("token", "revoke", "harbor", "--config", _config(process))
    assert code == 0
    assert await _harbor(session, "GET", jobs, token) == (403, {"message": "Token is inactive"})
    code, _, err = await run_cli("token", "revoke", "nobody", "--config", _config(process))
    assert code == 1 and "nobody" in err


async def test_harbor_replay_reaches_success_when_a_scheduler_does_the_work(
    start_manager: StartManager, dsn: str, session: aiohttp.ClientSession
) -> None:
    process = await start_manager(dsn, logLevel="debug")
    token = await _token(process, "harbor")
    base = _base(process)
    scheduler = await FakeScheduler.join(ManagerClient(session, base))

    async with session.get(f"{base}/healthy") as response:  # 1. Harbor tests the instance
        assert response.status == 200
    status, job = await _harbor(session, "POST", f"{base}/oapi/v1/jobs", token, HARBOR_BODY)
    assert status == 200 and job["state"] == "PENDING"  # 2. never 201 or 208
    poll = f"{base}/oapi/v1/jobs/{job['id']}"
    status, polled = await _harbor(session, "GET", poll, token)  # 3. polls until done
    assert (status, polled["state"], polled["result"]) == (200, "PENDING", None)

    work = await scheduler.claim()
    assert work is not None and work.job_id == job["id"]
    assert work.args.headers == {"Authorization": f"Bearer {REGISTRY_TOKEN}"}
    assert work.args.concurrent_count == 8 and work.args.filtered_query_params is None
    await scheduler.preheat(work, DIGESTS)

    status, polled = await _harbor(session, "GET", poll, token)
    assert status == 200 and polled["state"] == "SUCCESS"
    result = polled["result"]
    assert result["group_uuid"] == job["task_id"] and result["state"] == "SUCCESS"
    [job_state] = result["job_states"]
    assert job_state["task_name"] == "preheat" and job_state["state"] == "SUCCESS"
    assert job_state["task_uuid"].startswith("task_") and job_state["error"] == ""
    [cluster_result] = job_state["results"]
    assert cluster_result["scheduler_cluster_id"] == 1 and cluster_result["failure_tasks"] == []
    tasks = cluster_result["success_tasks"]
    assert [t["task_id"] for t in tasks] == DIGESTS
    assert {(t["hostname"], t["ip"]) for t in tasks} == {("seed-1", "127.0.0.1")}
    assert all(t["url"].endswith(f"/blobs/sha256:{t['task_id']}") for t in tasks)
    await process.stop()
    assert REGISTRY_TOKEN not in process.log_text()


async def test_a_failed_blob_fails_the_job_and_a_deadline_fails_an_unclaimed_one(
    start_manager: StartManager, dsn: str, session: aiohttp.ClientSession
) -> None:
    process = await start_manager(dsn, logLevel="debug", jobs={"sweepInterval": "100ms"})
    token = await _token(process, "harbor")
    base = _base(process)
    scheduler = await FakeScheduler.join(ManagerClient(session, base))
    args = {**HARBOR_BODY["args"], "username": "robot", "password": PASSWORD}
    _, job = await _harbor(
        session, "POST", f"{base}/oapi/v1/jobs", token, {**HARBOR_BODY, "args": args}
    )
    work = await scheduler.claim()
    assert work is not None and work.args.password == PASSWORD
    await scheduler.preheat(work, DIGESTS, fail="401 Unauthorized from registry.test:5000")
    _, polled = await _harbor(session, "GET", f"{base}/oapi/v1/jobs/{job['id']}", token)
    assert polled["state"] == "FAILURE"
    [failure] = polled["result"]["job_states"][0]["results"][0]["failure_tasks"]
    assert failure["task_id"] == DIGESTS[-1] and "401" in failure["description"]
    assert "401" in polled["result"]["job_states"][0]["error"]

    short = {**HARBOR_BODY, "args": {**HARBOR_BODY["args"], "timeout": 500_000_000}}
    _, late = await _harbor(session, "POST", f"{base}/oapi/v1/jobs", token, short)
    await process.wait_for_line(rf'msg="job timed out" job_id={late["id"]}\b', timeout=10)
    _, polled = await _harbor(session, "GET", f"{base}/oapi/v1/jobs/{late['id']}", token)
    assert polled["state"] == "FAILURE"
    assert "timeout" in polled["result"]["job_states"][0]["error"]
    assert await scheduler.claim() is None
    await process.stop()
    log = process.log_text()
    assert PASSWORD not in log and REGISTRY_TOKEN not in log


async def test_a_waiting_claim_takes_work_the_moment_it_is_created(
    start_manager: StartManager, dsn: str, session: aiohttp.ClientSession
) -> None:
    process = await start_manager(dsn)
    token = await _token(process, "harbor")
    base = _base(process)
    scheduler = await FakeScheduler.join(ManagerClient(session, base))
    ask = ClaimWork(scheduler_id=scheduler.id, cluster_id=scheduler.cluster_id, wait_seconds=0.2)
    started = time.monotonic()
    assert await scheduler.client.claim(ask) is None  # nothing came: empty after the wait
    assert time.monotonic() - started >= 0.2

    waiting = asyncio.create_task(
        scheduler.client.claim(ask.model_copy(update={"wait_seconds": 30.0}))
    )
    while (await scrape(f"{base}/metrics"))["swarmfly_manager_claims_waiting"] < 1:
        assert not waiting.done()
        await asyncio.sleep(0.01)
    started = time.monotonic()
    status, job = await _harbor(session, "POST", f"{base}/oapi/v1/jobs", token, HARBOR_BODY)
    assert status == 200
    work = await asyncio.wait_for(waiting, 10)
    assert work is not None and work.job_id == job["id"]
    assert time.monotonic() - started < 10  # woken by the job, not by the end of the wait
    samples = await scrape(f"{base}/metrics")
    assert samples["swarmfly_manager_claims_waiting"] == 0


async def test_a_claim_may_not_wait_longer_than_a_minute(
    start_manager: StartManager, dsn: str, session: aiohttp.ClientSession
) -> None:
    process = await start_manager(dsn)
    base = _base(process)
    scheduler = await FakeScheduler.join(ManagerClient(session, base))
    body = {"scheduler_id": scheduler.id, "cluster_id": scheduler.cluster_id, "wait_seconds": 61}
    async with session.post(f"{base}/api/v1/jobs/claim", json=body) as response:
        assert response.status in (400, 422)
        assert "wait_seconds" in await response.text()
