"""``swarmfly up`` as a newcomer runs it: one process, one data directory, then the README's
curl preheat of a file reaches SUCCESS with the token ``up`` wrote to ``<data>/token``.

``up`` binds fixed default ports; the hidden ``--port ROLE=PORT`` moves each one to a free
port so that this test never collides with anything else on the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import require_binary
from tests.integration.conftest import run_cli
from tests.support.commands import run
from tests.support.openapi import OpenApi, success_tasks
from tests.support.origin import Origin
from tests.support.processes import Process, start_process
from tests.support.service import free_port

ROLES = ("manager", "scheduler", "upload", "proxy", "control")


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[tuple[Process, dict[str, int]]]:
    ports = {role: free_port() for role in ROLES}
    args = ["up", "--data-dir", str(tmp_path / "data")]
    for role, port in ports.items():
        args += ["--port", f"{role}={port}"]
    process = await start_process("up", args, tmp_path / "up.log")
    try:
        for role in ("manager", "scheduler", "daemon"):
            await process.wait_for_line(rf"logger=swarmfly\.{role}\.main msg=ready", 30)
        await process.wait_for_line('msg="registered with the manager"', 30)
        await process.wait_for_line('msg="host registered" host_id=127.0.0.1-.*-seed', 30)
        yield process, ports
    finally:
        assert await process.stop() == 0, process.log_text()[-3000:]


async def test_up_then_the_readme_curl_preheats_a_file(
    stack: tuple[Process, dict[str, int]], origin: Origin, tmp_path: Path
) -> None:
    process, ports = stack
    curl = require_binary("curl")
    token_file = tmp_path / "data" / "token"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    log = process.log_text()
    assert f"http://127.0.0.1:{ports['manager']}/oapi/v1/jobs" in log  # the banner's curl
    assert token_file.read_text().strip() in log  # shown once, in the banner

    _, digest = origin.add_file("big.iso", 12 << 20)
    body = json.dumps({"type": "preheat", "args": {"type": "file", "url": f"{origin.url}/big.iso"}})
    manager = f"http://127.0.0.1:{ports['manager']}"
    script = (
        f"TOKEN=$(cat {token_file})\n"
        f'{curl} -s -X POST {manager}/oapi/v1/jobs -H "Authorization: Bearer $TOKEN" \\\n'
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'\n"
    )
    created = json.loads((await run(["sh", "-c", script])).check().stdout)
    assert created["state"] == "PENDING", created

    async def wake(job_id: int, seconds: float) -> None:
        try:
            await process.wait_for_line(rf'msg="job finished" job_id={job_id}\b', seconds)
        except TimeoutError:
            pass

    async with aiohttp.ClientSession() as session:
        api = OpenApi(session, manager, token_file.read_text().strip())
        job = await api.wait_job(created["id"], deadline=60, wake=wake)
    assert job["state"] == "SUCCESS", job
    [task] = success_tasks(job)
    assert task["url"] == f"{origin.url}/big.iso"
    assert origin.gets("big.iso") == 1

    output = tmp_path / "big.iso"
    code, _, err = await run_cli(
        "dfget",
        f"{origin.url}/big.iso",
        "-O",
        str(output),
        "--daemon-addr",
        f"http://127.0.0.1:{ports['control']}",
    )
    assert code == 0, err
    assert hashlib.sha256(output.read_bytes()).hexdigest() == digest
    assert origin.gets("big.iso") == 1, "the seed peer's store served dfget"


async def test_up_refuses_a_bad_port_option(tmp_path: Path) -> None:
    code, _, err = await run_cli("up", "--data-dir", str(tmp_path), "--port", "nginx=80")
    assert code == 2
    assert "ROLE=PORT" in err and "nginx=80" in err
    assert not (tmp_path / "token").exists()
