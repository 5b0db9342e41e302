"""Issue #5 end to end: preheat through the manager's Open API, then pull without the registry.

Every component is a real process: ``swarmfly manager`` (SQLite, a token made with
``swarmfly token create``), ``swarmfly scheduler`` registered with it (``manager.addr``), seed
peers (``seedPeer.enable``), Debian's ``docker-registry`` and containerd. A job is created and
followed exactly as Harbor and the README's curl do it; then a *fresh* daemon (its own empty
store, the same scheduler) serves containerd, and the registry's own log must show no blob GET
during that pull. The blob-digest task IDs make the preheat hit whatever alias or ``?ns=`` the
pull comes through, and signed-URL parameters are filtered out of file task IDs.

Also issue #4: a daemon on another node serves what a first node pulled, through the scheduler.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shlex
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from swarmfly import idgen
from tests.conftest import require_binary
from tests.e2e.conftest import (
    BIG_REPOSITORY,
    CREDENTIALS,
    MULTI_REPOSITORY,
    SMALL_REPOSITORY,
    TAG,
    ComponentLogs,
    ImageSet,
    StartMirror,
)
from tests.e2e.test_mirror import (
    assert_blobs_through_mirror,
    assert_committed_and_intact,
    proxy_host,
    proxy_url,
    task_state,
)
from tests.integration.conftest import run_cli
from tests.support.commands import run
from tests.support.containerd import Containerd, CtrResult, default_mirror_hosts
from tests.support.fake_registry import BlobFault, FakeRegistry
from tests.support.images import Blob, Image
from tests.support.manager import write_manager_yaml
from tests.support.openapi import OpenApi, failure_tasks, job_errors, success_tasks
from tests.support.origin import Origin, running_origin
from tests.support.processes import Process, daemon_config, scheduler_config, start_process
from tests.support.registry import Registry

MIB = 1 << 20
JOB_DEADLINE = 120.0  # seconds for a preheat of the small image on a loaded CI machine
SECOND_NS = 1_000_000_000


# --- the stack: manager, scheduler, seed peers ------------------------------------------------


@dataclass
class PreheatStack:
    """A manager, a scheduler taking its preheat work, and seed peers registered with it."""

    manager: Process
    scheduler: Process
    seeds: list[Process]
    api: OpenApi
    manager_yaml: Path

    @property
    def manager_url(self) -> str:
        return f"http://127.0.0.1:{self.manager.port('port')}"

    @property
    def scheduler_addr(self) -> str:
        return f"127.0.0.1:{self.scheduler.port('port')}"

    async def wake(self, job_id: int, seconds: float) -> None:
        """Return when the manager logs that the job finished, or after ``seconds``."""
        try:
            await self.manager.wait_for_line(rf'msg="job finished" job_id={job_id}\b', seconds)
        except TimeoutError:
            pass

    async def preheat(self, args: dict[str, Any], **body: Any) -> dict[str, Any]:
        """``POST /oapi/v1/jobs`` for a preheat with ``args``; the PENDING job."""
        status, job = await self.api.create_job({"type": "preheat", "args": args, **body})
        assert status == 200, (status, job)
        assert job["state"] == "PENDING", job
        return job

    async def wait_job(self, job_id: int, deadline: float = JOB_DEADLINE) -> dict[str, Any]:
        return await self.api.wait_job(job_id, deadline=deadline, wake=self.wake)


StartStack = Callable[..., Awaitable[PreheatStack]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
async def start_stack(
    tmp_path: Path, component_logs: ComponentLogs, session: aiohttp.ClientSession
) -> AsyncIterator[StartStack]:
    """``await start_stack(seeds=1, seed={...}, **scheduler_yaml)``: the preheat side, ready.

    ``seed`` holds dfget.yaml sections for every seed peer; the keyword arguments are
    scheduler.yaml settings (``hostTTL="4s"``).

    Ready means: the scheduler is registered with the manager and every seed peer with the
    scheduler (each waited for on its log line), so a job created now is claimed and placed.
    """
    started: list[Process] = []

    def own(process: Process) -> Process:
        started.append(process)
        component_logs.add(process.name, lambda: _tail(process))
        return process

    async def start(
        *, seeds: int = 1, seed: dict[str, Any] | None = None, **scheduler: Any
    ) -> PreheatStack:
        root = tmp_path / "manager"
        manager_yaml = write_manager_yaml(root, "", jobs={"sweepInterval": "200ms"})
        manager = own(
            await start_process("manager", ["manager", "--config", str(manager_yaml)], root / "log")
        )
        code, out, err = await run_cli(
            "token", "create", "--name", "e2e", "--scopes", "job", "--config", str(manager_yaml)
        )
        assert code == 0, err
        api = OpenApi(session, f"http://127.0.0.1:{manager.port('port')}", out.strip())

        manager_link = {"addr": f"127.0.0.1:{manager.port('port')}", "claimInterval": "200ms"}
        config = scheduler_config(tmp_path / "scheduler", manager=manager_link, **scheduler)
        scheduler_process = own(
            await start_process(
                "scheduler", ["scheduler", "--config", str(config)], config.parent / "log"
            )
        )
        await scheduler_process.wait_for_line('msg="registered with the manager"', 30)
        addr = f"127.0.0.1:{scheduler_process.port('port')}"
        seed_processes = []
        for index in range(1, seeds + 1):
            name = f"seed-{index}"
            sections = {**(seed or {}), "seedPeer": {"enable": True}}
            seed_config = daemon_config(tmp_path / name, scheduler={"addrs": [addr]}, **sections)
            process = own(
                await start_process(
                    name, ["daemon", "--config", str(seed_config)], seed_config.parent / "log"
                )
            )
            await scheduler_process.wait_for_line(
                rf'msg="host registered" host_id=127\.0\.0\.1-{name}-seed\b', 30
            )
            seed_processes.append(process)
        return PreheatStack(manager, scheduler_process, seed_processes, api, manager_yaml)

    yield start
    for process in reversed(started):
        await process.stop()


def _tail(process: Process, lines: int = 60) -> str:
    return "\n".join(process.log_text().splitlines()[-lines:])


NOWHERE = "http://127.0.0.1:9"  # a registryMirror.addr that helps nobody: ?ns= must do


async def start_peer(start_mirror: StartMirror, scheduler_addr: str, name: str) -> Process:
    """A normal (not seed) daemon with an empty store, in the swarm; it learns the registry
    from containerd's ``?ns=`` only (its ``registryMirror.addr`` leads nowhere)."""
    peer = await start_mirror(NOWHERE, name, scheduler={"addrs": [scheduler_addr]})
    await peer.wait_for_line('msg="registered with scheduler"', 30)
    return peer


# --- what a preheat must leave behind --------------------------------------------------------


def manifest_url(host: str, repository: str, tag: str = TAG) -> str:
    return f"http://{host}/v2/{repository}/manifests/{tag}"


def assert_every_blob_succeeded(job: dict[str, Any], blobs: tuple[Blob, ...]) -> None:
    assert job["state"] == "SUCCESS", json.dumps(job, indent=1)
    assert job["result"]["state"] == "SUCCESS"
    assert failure_tasks(job) == []
    tasks = success_tasks(job)
    assert sorted(t["task_id"] for t in tasks) == sorted(b.hex for b in blobs), tasks
    for task in tasks:
        assert task["url"].endswith(f"/blobs/sha256:{task['task_id']}"), task
        assert task["hostname"] and task["ip"] == "127.0.0.1", task


async def pull_without_blob_gets(
    registry: Registry,
    containerd: Containerd,
    peer: Process,
    hosts_dir: Path,
    reference: str,
    image: Image,
    **fetch: Any,
) -> CtrResult:
    """containerd fetches ``reference`` through ``peer`` (``_default`` hosts.toml, upstream
    from ``?ns=``); the registry sees manifests only, never a blob GET."""
    default_mirror_hosts(hosts_dir, proxy_url(peer))
    await registry.barrier()
    mark = registry.mark()
    result = await containerd.fetch(reference, hosts_dir=hosts_dir, **fetch)
    assert_blobs_through_mirror(result, proxy_host(peer), image.blobs)
    await assert_committed_and_intact(containerd, image)
    await registry.barrier()
    assert registry.blob_gets(since=mark) == [], "the pull went to the registry for blobs"
    return result


# --- 1. image preheat, then a pull that never touches the registry's blobs -------------------


async def curl_post_job(stack: PreheatStack, url: str) -> dict[str, Any]:
    """The README's curl, byte for byte (only the addresses and token filled in)."""
    curl = require_binary("curl")
    body = json.dumps({"type": "preheat", "args": {"type": "image", "url": url}})
    command = (
        f"{curl} -s -X POST {stack.manager_url}/oapi/v1/jobs "
        f"-H 'Authorization: Bearer {stack.api.token}' -H 'Content-Type: application/json' "
        f"-d {shlex.quote(body)}"
    )
    result = (await run(["sh", "-c", command])).check()
    job: dict[str, Any] = json.loads(result.stdout)
    assert job["state"] == "PENDING", job
    return job


def harbor_body(url: str) -> dict[str, Any]:
    """Harbor's body: snake_case, zero values meaning "default", no cluster named."""
    return {
        "type": "preheat",
        "args": {
            "type": "image",
            "url": url,
            "tag": "",
            "filtered_query_params": "",
            "headers": {},
            "scope": "single_seed_peer",
            "concurrent_count": 0,
            "timeout": 0,
        },
        "scheduler_cluster_ids": None,
    }


@pytest.mark.parametrize("client", ["curl", "harbor"])
async def test_preheated_image_is_pulled_by_a_fresh_daemon_without_registry_blob_gets(
    client: str,
    registry: Registry,
    containerd: Containerd,
    start_stack: StartStack,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    image = images.small
    stack = await start_stack()
    url = manifest_url(registry.host, SMALL_REPOSITORY)
    if client == "curl":
        created = await curl_post_job(stack, url)
    else:
        status, created = await stack.api.create_job(harbor_body(url))
        assert status == 200 and created["state"] == "PENDING", (status, created)
    job = await stack.wait_job(created["id"])
    assert_every_blob_succeeded(job, image.blobs)
    await registry.barrier()
    assert registry.blob_get_counts() == {b.digest: 1 for b in image.blobs}, "one seed, once"

    peer = await start_peer(start_mirror, stack.scheduler_addr, "fresh")
    await pull_without_blob_gets(
        registry, containerd, peer, hosts_dir, registry.reference(SMALL_REPOSITORY, TAG), image
    )


async def test_preheat_of_a_private_image_with_username_and_password(
    auth_registry: Registry,
    containerd: Containerd,
    start_stack: StartStack,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    image = images.small
    stack = await start_stack()
    created = await stack.preheat(
        {
            "type": "image",
            "url": manifest_url(auth_registry.host, SMALL_REPOSITORY),
            "username": CREDENTIALS.username,
            "password": CREDENTIALS.password,
        }
    )
    assert CREDENTIALS.password not in json.dumps(created)
    job = await stack.wait_job(created["id"])
    assert_every_blob_succeeded(job, image.blobs)
    assert CREDENTIALS.password not in json.dumps(job)

    peer = await start_peer(start_mirror, stack.scheduler_addr, "fresh")
    await pull_without_blob_gets(
        auth_registry,
        containerd,
        peer,
        hosts_dir,
        auth_registry.reference(SMALL_REPOSITORY, TAG),
        image,
        credentials=CREDENTIALS,
    )
    for process in (stack.manager, stack.scheduler, *stack.seeds, peer):
        assert CREDENTIALS.password not in process.log_text(), process.name


async def test_preheat_of_one_platform_of_an_index(
    registry: Registry,
    containerd: Containerd,
    start_stack: StartStack,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    arm64 = images.multi.images["linux/arm64"]
    amd64 = images.multi.images["linux/amd64"]
    stack = await start_stack()
    created = await stack.preheat(
        {
            "type": "image",
            "url": manifest_url(registry.host, MULTI_REPOSITORY),
            "platform": "linux/arm64",
        }
    )
    job = await stack.wait_job(created["id"])
    assert_every_blob_succeeded(job, arm64.blobs)
    await registry.barrier()
    assert amd64.config.digest not in registry.blob_get_counts()

    peer = await start_peer(start_mirror, stack.scheduler_addr, "fresh")
    await pull_without_blob_gets(
        registry,
        containerd,
        peer,
        hosts_dir,
        registry.reference(MULTI_REPOSITORY, TAG),
        arm64,
        platform="linux/arm64",
    )


async def test_a_preheat_through_one_registry_alias_hits_a_pull_through_another(
    registry: Registry,
    containerd: Containerd,
    start_stack: StartStack,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    """Preheated as ``127.0.0.1:<port>``, pulled as ``localhost:<port>``: other blob URLs,
    the same blob-digest task IDs."""
    image = images.small
    stack = await start_stack()
    created = await stack.preheat(
        {"type": "image", "url": manifest_url(registry.host, SMALL_REPOSITORY)}
    )
    job = await stack.wait_job(created["id"])
    assert_every_blob_succeeded(job, image.blobs)
    assert all("//127.0.0.1:" in task["url"] for task in success_tasks(job))

    alias = f"localhost:{registry.port}"
    peer = await start_peer(start_mirror, stack.scheduler_addr, "fresh")
    result = await pull_without_blob_gets(
        registry, containerd, peer, hosts_dir, f"{alias}/{SMALL_REPOSITORY}:{TAG}", image
    )
    assert {r.ns for r in result.requests() if r.host == proxy_host(peer)} == {alias}


# --- 2. file preheat with signed-URL parameters ----------------------------------------------


@pytest.fixture
async def origin(tmp_path: Path) -> AsyncIterator[Origin]:
    async with running_origin(tmp_path / "origin") as served:
        yield served


async def test_a_preheated_file_is_hit_whatever_its_signature(
    origin: Origin, start_stack: StartStack, start_mirror: StartMirror, tmp_path: Path
) -> None:
    _, digest = origin.add_file("release.tar", 24 * MIB)
    stack = await start_stack()
    signed = f"{origin.url}/release.tar?Expires=1700000000&Signature=c2lnbmVkLW9uY2U%3D"
    resigned = f"{origin.url}/release.tar?Expires=1800000000&Signature=YW5vdGhlci1zaWc%3D"
    created = await stack.preheat({"type": "file", "url": signed})
    job = await stack.wait_job(created["id"])
    assert job["state"] == "SUCCESS", json.dumps(job, indent=1)
    [task] = success_tasks(job)
    assert task["task_id"] == idgen.task_id(resigned) == idgen.task_id(f"{origin.url}/release.tar")
    assert origin.gets("release.tar") >= 1

    fresh = await start_peer(start_mirror, stack.scheduler_addr, "fresh")
    before_bytes, before_requests = origin.bytes_sent, len(origin.requests)
    output = tmp_path / "release.tar"
    code, _, err = await run_cli(
        "dfget",
        resigned,
        "-O",
        str(output),
        "--daemon-addr",
        f"http://127.0.0.1:{fresh.port('control_port')}",
        "--timeout",
        "60",
    )
    assert code == 0, err
    assert hashlib.sha256(output.read_bytes()).hexdigest() == digest
    assert origin.requests[before_requests:] == [], "dfget reached the origin"
    assert origin.bytes_sent == before_bytes


# --- 3. failures ------------------------------------------------------------------------------


async def test_a_wrong_registry_password_fails_the_job_with_the_registry_reason(
    auth_registry: Registry, start_stack: StartStack
) -> None:
    stack = await start_stack()
    created = await stack.preheat(
        {
            "type": "image",
            "url": manifest_url(auth_registry.host, SMALL_REPOSITORY),
            "username": CREDENTIALS.username,
            "password": "not-the-password",
        }
    )
    job = await stack.wait_job(created["id"])
    assert job["state"] == "FAILURE", json.dumps(job, indent=1)
    errors = job_errors(job)
    assert "refused the credentials: authentication required" in errors, errors
    assert "not-the-password" not in json.dumps(job)
    await auth_registry.barrier()
    assert auth_registry.blob_gets() == []


async def test_an_unknown_tag_fails_the_job_with_manifest_unknown(
    registry: Registry, start_stack: StartStack
) -> None:
    stack = await start_stack()
    created = await stack.preheat(
        {"type": "image", "url": manifest_url(registry.host, SMALL_REPOSITORY, "no-such-tag")}
    )
    job = await stack.wait_job(created["id"])
    assert job["state"] == "FAILURE", json.dumps(job, indent=1)
    assert "manifest unknown" in job_errors(job).lower(), job_errors(job)


async def test_a_platform_the_index_lacks_fails_the_job_with_the_platforms_it_has(
    registry: Registry, start_stack: StartStack
) -> None:
    stack = await start_stack()
    created = await stack.preheat(
        {
            "type": "image",
            "url": manifest_url(registry.host, MULTI_REPOSITORY),
            "platform": "linux/s390x",
        }
    )
    job = await stack.wait_job(created["id"])
    assert job["state"] == "FAILURE", json.dumps(job, indent=1)
    errors = job_errors(job)
    assert "no manifest for platform linux/s390x" in errors, errors
    assert "linux/amd64" in errors and "linux/arm64" in errors, errors
    await registry.barrier()
    assert registry.blob_gets() == [], "nothing is fetched for a platform that is not there"


async def test_a_blob_that_fails_its_digest_fails_the_job_and_is_not_kept(
    fake_registry: FakeRegistry, start_stack: StartStack, images: ImageSet
) -> None:
    # 64 MiB, one byte flipped in the middle: the seed has stored (and announced) most of its
    # pieces before the whole-content sha256 can tell.
    layer = images.small.layers[1]
    fake_registry.faults[layer.digest] = BlobFault(corrupt=True)
    stack = await start_stack()
    created = await stack.preheat(
        {"type": "image", "url": manifest_url(fake_registry.host, SMALL_REPOSITORY)}
    )
    job = await stack.wait_job(created["id"])
    assert job["state"] == "FAILURE", json.dumps(job, indent=1)
    [failed] = failure_tasks(job)
    assert failed["task_id"] == layer.hex, failed
    assert f"digest mismatch: expected {layer.digest}" in job_errors(job), job_errors(job)
    assert sorted(task["task_id"] for task in success_tasks(job)) == sorted(
        blob.hex for blob in images.small.blobs if blob is not layer
    )
    assert fake_registry.blob_gets(layer.digest), "the fault was never exercised"
    # The seed keeps nothing of it: a later reader asks the source again.
    [seed] = stack.seeds
    assert await task_state(seed, layer) in (None, "failed")


async def test_a_job_for_an_unknown_cluster_is_refused_at_creation(
    start_stack: StartStack,
) -> None:
    stack = await start_stack(seeds=0)
    status, answer = await stack.api.create_job(
        {
            "type": "preheat",
            "args": {"type": "file", "url": "http://127.0.0.1:9/f.bin"},
            "scheduler_cluster_ids": [1, 4242],
        }
    )
    assert status == 422, answer
    assert "scheduler_cluster_ids" in answer["errors"] and "4242" in answer["errors"], answer


async def wait_for_first_piece(seeds: list[Process], blob: Blob) -> tuple[Process, int]:
    """The seed peer that took the order for ``blob`` once its first piece has landed, and how
    many pieces it had then.

    Each seed's log says when it accepts the order; then its piece server's long-poll answers
    as soon as the task has a finished piece.
    """

    async def first_piece(seed: Process) -> tuple[Process, int]:
        await seed.wait_for_line(rf'msg="seed order accepted".* task_id={blob.hex}\b', 60)
        url = f"http://127.0.0.1:{seed.port('upload_port')}/tasks/{blob.hex}/pieces"
        async with aiohttp.ClientSession() as client:
            while True:
                params = {"known": "0", "wait": "20s"}
                async with client.get(url, params=params) as response:
                    assert response.status == 200, await response.text()
                    pieces = (await response.json())["pieces"]
                    if pieces:
                        return seed, len(pieces)

    waiting = [asyncio.ensure_future(first_piece(seed)) for seed in seeds]
    try:
        async with asyncio.timeout(60):
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for future in waiting:
            future.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)


@pytest.mark.parametrize(
    "host_ttl",
    ["4s", "30s"],
    ids=["scheduler-drops-the-seed", "seed-listed-past-the-job-timeout"],
)
async def test_a_seed_peer_killed_mid_job_never_leaves_the_job_pending(
    host_ttl: str, registry: Registry, start_stack: StartStack, images: ImageSet
) -> None:
    """The seed fetching the 256 MiB layer (rate-limited, so the kill lands mid-transfer) is
    SIGKILLed. With a second seed in the cluster the job may complete there, or fail saying
    why; either way it is terminal before its own timeout (plus slack), never PENDING past it.

    With a short ``hostTTL`` the scheduler drops the dead seed within seconds; with the default
    (30 s, longer than the job's 20 s) only the job's deadline can end it.
    """
    layer = images.big.layers[0]
    timeout_s = 20
    stack = await start_stack(
        seeds=2,
        seed={"download": {"rateLimit": "32Mi"}},
        hostTTL=host_ttl,
        hostKeepaliveInterval="1s",
    )
    created = await stack.preheat(
        {
            "type": "image",
            "url": manifest_url(registry.host, BIG_REPOSITORY),
            "timeout": timeout_s * SECOND_NS,
        }
    )
    started = time.monotonic()
    victim, landed = await wait_for_first_piece(stack.seeds, layer)
    await victim.kill()
    assert landed < layer.size // (4 * MIB), "the kill must land mid-transfer"

    job = await stack.wait_job(created["id"], deadline=timeout_s + 15)
    elapsed = time.monotonic() - started
    assert elapsed < timeout_s + 10, f"terminal only after {elapsed:.1f} s"
    reported = success_tasks(job) + failure_tasks(job)
    assert sorted(t["task_id"] for t in reported) == sorted(b.hex for b in images.big.blobs)
    if job["state"] == "SUCCESS":
        survivor = next(seed for seed in stack.seeds if seed is not victim)
        hosts = {task["hostname"] for task in success_tasks(job) if task["task_id"] == layer.hex}
        assert hosts == {survivor.log_path.parent.name}, hosts
    else:
        assert job["state"] == "FAILURE"
        failed = {task["task_id"]: task["description"] for task in failure_tasks(job)}
        assert failed.get(layer.hex), failed  # the layer failed, and says why
        if host_ttl == "30s":
            assert "timeout" in job_errors(job), job_errors(job)


# --- 4. issue #4: a second node pulls from the first, not from the registry ----------------


async def test_a_node_pulls_from_the_node_that_pulled_first(
    registry: Registry,
    containerd: Containerd,
    start_mirror: StartMirror,
    start_stack: StartStack,
    tmp_path: Path,
    images: ImageSet,
) -> None:
    image = images.small
    stack = await start_stack(seeds=0)
    node_a = await start_peer(start_mirror, stack.scheduler_addr, "node-a")
    node_b = await start_peer(start_mirror, stack.scheduler_addr, "node-b")
    reference = registry.reference(SMALL_REPOSITORY, TAG)

    hosts_a = tmp_path / "hosts-a"
    default_mirror_hosts(hosts_a, proxy_url(node_a))
    first = await containerd.fetch(reference, hosts_dir=hosts_a, namespace="node-a")
    assert_blobs_through_mirror(first, proxy_host(node_a), image.blobs)
    await assert_committed_and_intact(containerd, image, "node-a")
    await registry.barrier()
    assert registry.blob_get_counts() == {b.digest: 1 for b in image.blobs}

    for blob in image.blobs:  # the scheduler knows node A holds every blob
        await stack.scheduler.wait_for_line(
            rf'msg="peer finished" task_id={blob.hex} peer_id=127\.0\.0\.1-node-a-\S+ '
            "outcome=succeeded",
            30,
        )
    hosts_b = tmp_path / "hosts-b"
    default_mirror_hosts(hosts_b, proxy_url(node_b))
    mark = registry.mark()
    second = await containerd.fetch(reference, hosts_dir=hosts_b, namespace="node-b")
    assert_blobs_through_mirror(second, proxy_host(node_b), image.blobs)
    await assert_committed_and_intact(containerd, image, "node-b")
    await registry.barrier()
    assert registry.blob_gets(since=mark) == [], "node B went to the registry for blobs"
