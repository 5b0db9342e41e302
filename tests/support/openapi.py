"""The manager's Open API as its clients (Harbor, release scripts) drive it: create a job,
then poll it until it is SUCCESS or FAILURE, with every poll a 200 (Harbor fails a job on a
single failed poll).

Polling is the behaviour under test here, but the wait between polls is not a blind sleep:
``wake`` (the manager's ``job finished`` log line) cuts it short the moment the job ends.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

TERMINAL = frozenset({"SUCCESS", "FAILURE"})
#: ``await wake(job_id, seconds)``: returns when the job may have changed, or after ``seconds``.
Wake = Callable[[int, float], Awaitable[None]]


@dataclass
class OpenApi:
    session: aiohttp.ClientSession
    base: str  # http://127.0.0.1:<port>
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def url(self, path: str) -> str:
        return f"{self.base}/oapi/v1{path}"

    async def create_job(self, body: Any) -> tuple[int, Any]:
        """``POST /oapi/v1/jobs``: (status, decoded body)."""
        async with self.session.post(self.url("/jobs"), json=body, headers=self.headers) as r:
            return r.status, await r.json()

    async def job(self, job_id: int) -> dict[str, Any]:
        async with self.session.get(self.url(f"/jobs/{job_id}"), headers=self.headers) as r:
            assert r.status == 200, (r.status, await r.text())
            job: dict[str, Any] = await r.json()
            return job

    async def wait_job(
        self, job_id: int, *, deadline: float, wake: Wake, interval: float = 1.0
    ) -> dict[str, Any]:
        """Poll until the job's state is terminal; ``AssertionError`` after ``deadline`` s.

        Every answer must say PENDING, SUCCESS or FAILURE and nothing else.
        """
        end = time.monotonic() + deadline
        while True:
            job = await self.job(job_id)
            assert job["state"] in TERMINAL | {"PENDING"}, job["state"]
            if job["state"] in TERMINAL:
                return job
            left = end - time.monotonic()
            assert left > 0, f"job {job_id} still PENDING after {deadline:g} s: {job}"
            await wake(job_id, min(interval, left))


def cluster_results(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ``result.job_states[].results[]`` entry of a job."""
    result = job["result"] or {}
    return [entry for state in result.get("job_states", []) for entry in state["results"]]


def success_tasks(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [task for entry in cluster_results(job) for task in entry["success_tasks"]]


def failure_tasks(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [task for entry in cluster_results(job) for task in entry["failure_tasks"]]


def job_errors(job: dict[str, Any]) -> str:
    """Every error the job reports: per cluster, and per failed blob."""
    result = job["result"] or {}
    parts = [state.get("error", "") for state in result.get("job_states", [])]
    parts += [task.get("description", "") for task in failure_tasks(job)]
    return "\n".join(part for part in parts if part)
