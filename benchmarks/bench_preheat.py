"""Image preheat on loopback: POST to SUCCESS against curl, then the job endpoint under polls.

    .venv/bin/python benchmarks/bench_preheat.py [--layers-mib 64,256,280] [--runs 1]
                                                 [--clients 100] [--poll-seconds 30]
                                                 [--link-gbit 5,10]

An OCI image of random layers (``tests/support/images.py``) is pushed with skopeo to Debian's
``docker-registry``. A real ``swarmfly manager`` (SQLite), ``swarmfly scheduler`` (registered
with it) and one seed-peer daemon run as processes with default settings, as in production
(the scheduler's claim waits at the manager, so a job starts the moment it is posted).

Each run times, one after the other (runs interleaved, so that a host that slows down
slows all three alike):

1. curl: the image's blobs (config and layers) straight from the registry, all at once
   (``curl --parallel``), written to files on the same disk as the seed peer's store.
2. curl, verified: the same, each blob piped through ``openssl dgst -sha256`` (OpenSSL's
   SHA-NI code, as fast a sha256 as this machine has) and checked against its digest, as a
   client that trusts nothing it pulls (containerd) must.
3. preheat: ``POST /oapi/v1/jobs`` (the README's body) until the job is SUCCESS, observed
   when the manager logs ``job finished`` (then confirmed with a GET); every run uses a fresh
   seed peer with an empty store, and the previous run's blobs are removed first.

Dirty pages are flushed before each timed step. For each, the CPU time the whole machine
spent (every process and kernel thread) is recorded too, and so is the time sha256 of the
image's bytes takes on one core: on loopback the runs are bound by CPU, not by a network.

Then ``GET /oapi/v1/jobs/{id}`` (the finished job, as Harbor polls it) from ``--clients``
concurrent aiohttp clients, each on its own keep-alive connection, for ``--poll-seconds``:
requests/s, p50/p99 latency, and every answer that was not a 200.

With ``--link-gbit 5,10``, the same rounds run again with what the registry sends limited to
each rate (an htb class on ``lo`` for the registry's port; nothing else is slowed), as when
the registry is across a real network rather than in the same memory.

Targets: preheat <= 1.2x curl; no answer but 200 under polling. JSON on stdout and in
benchmarks/results/preheat.json; a PNG in benchmarks/results/preheat.png.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test suite's builders and process harness

from _harness import (  # noqa: E402
    busy_cpu_seconds,
    emit,
    free_page_cache,
    limited_replies,
    median,
)
from tests.support import skopeo  # noqa: E402
from tests.support.images import Image, OciLayout, random_layer  # noqa: E402
from tests.support.manager import write_manager_yaml  # noqa: E402
from tests.support.processes import (  # noqa: E402
    Process,
    daemon_config,
    scheduler_config,
    start_process,
)
from tests.support.registry import Registry, start_registry  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
REPOSITORY = "bench/app"
TAG = "v1"
MIB = 1 << 20
JOB_DEADLINE = 600.0


@asynccontextmanager
async def running(process: Process) -> AsyncIterator[Process]:
    try:
        yield process
    finally:
        await process.stop()


def build_image(root: Path, layers_mib: list[int]) -> tuple[OciLayout, Image]:
    layout = OciLayout(root / "layout")
    layers = [random_layer(size * MIB, seed=100 + i) for i, size in enumerate(layers_mib)]
    return layout, layout.add_image("bench", layers)


async def create_token(manager_yaml: Path) -> str:
    command = [sys.executable, "-m", "swarmfly", "token", "create", "--name", "bench"]
    process = await asyncio.create_subprocess_exec(
        *command, "--config", str(manager_yaml), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"token create failed: {err.decode()}")
    return out.decode().strip()


@dataclass
class Timed:
    seconds: float
    cpu_seconds: float  # the whole machine's busy time over those seconds


def _prepare(image: Image, out_dir: Path) -> None:
    """Remove the previous run's files and flush dirty pages, so each run starts alike."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for blob in image.blobs:
        (out_dir / blob.hex).unlink(missing_ok=True)
    os.sync()


def _check_sizes(image: Image, out_dir: Path) -> None:
    for blob in image.blobs:
        if (out_dir / blob.hex).stat().st_size != blob.size:
            raise RuntimeError(f"curl fetched a short {blob.digest}")


def blob_url(registry: Registry, digest: str) -> str:
    return f"{registry.url}/v2/{REPOSITORY}/blobs/{digest}"


def curl_blobs(registry: Registry, image: Image, out_dir: Path) -> Timed:
    """curl fetching every blob at once to files."""
    _prepare(image, out_dir)
    args = ["curl", "-sf", "--no-progress-meter", "--parallel", "--parallel-max", "8"]
    for blob in image.blobs:
        args += ["-o", str(out_dir / blob.hex), blob_url(registry, blob.digest)]
    cpu, start = busy_cpu_seconds(), time.perf_counter()
    subprocess.run(args, check=True)
    timed = Timed(time.perf_counter() - start, busy_cpu_seconds() - cpu)
    _check_sizes(image, out_dir)
    return timed


def curl_blobs_verified(registry: Registry, image: Image, out_dir: Path) -> Timed:
    """curl fetching every blob at once to files, each hashed on the way and checked."""
    _prepare(image, out_dir)
    script = 'set -o pipefail; curl -sf "$1" | tee "$2" | openssl dgst -sha256 -r'
    cpu, start = busy_cpu_seconds(), time.perf_counter()
    commands = [
        ["bash", "-c", script, "curl", blob_url(registry, blob.digest), str(out_dir / blob.hex)]
        for blob in image.blobs
    ]
    pipelines = [subprocess.Popen(command, stdout=subprocess.PIPE) for command in commands]
    outputs = [pipeline.communicate()[0].decode() for pipeline in pipelines]
    timed = Timed(time.perf_counter() - start, busy_cpu_seconds() - cpu)
    for blob, pipeline, output in zip(image.blobs, pipelines, outputs, strict=True):
        if pipeline.returncode != 0 or output.split()[0] != blob.hex:
            raise RuntimeError(f"verified curl of {blob.digest} failed: {output!r}")
    _check_sizes(image, out_dir)
    return timed


def sha256_one_core(image: Image, out_dir: Path) -> float:
    """Seconds hashlib's sha256 (OpenSSL) takes over every blob's bytes, cached, on one core."""
    buffer = memoryview(bytearray(1 << 20))
    elapsed = 0.0
    for blob in image.blobs:
        hasher = hashlib.sha256()
        with open(out_dir / blob.hex, "rb", buffering=0) as file:
            while got := file.readinto(buffer):
                start = time.perf_counter()
                hasher.update(buffer[:got])
                elapsed += time.perf_counter() - start
        if hasher.hexdigest() != blob.hex:
            raise RuntimeError(f"{blob.digest} does not hash to its digest")
    return elapsed


async def preheat_once(
    session: aiohttp.ClientSession,
    manager: Process,
    scheduler: Process,
    token: str,
    url: str,
    image: Image,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    base = f"http://127.0.0.1:{manager.port('port')}/oapi/v1/jobs"
    body = {"type": "preheat", "args": {"type": "image", "url": url}}
    os.sync()
    cpu, start = busy_cpu_seconds(), time.perf_counter()
    async with session.post(base, json=body, headers=headers) as response:
        job = await response.json()
        if response.status != 200:
            raise RuntimeError(f"POST answered {response.status}: {job}")
    job_id = job["id"]
    await scheduler.wait_for_line(rf'msg="preheat started" job_id={job_id}\b', JOB_DEADLINE)
    claimed = time.perf_counter() - start
    await manager.wait_for_line(rf'msg="job finished" job_id={job_id}\b', JOB_DEADLINE)
    elapsed = time.perf_counter() - start
    cpu = busy_cpu_seconds() - cpu
    async with session.get(f"{base}/{job_id}", headers=headers) as response:
        job = await response.json()
    if job["state"] != "SUCCESS":
        raise RuntimeError(f"job {job_id} ended {job['state']}: {job['result']}")
    done = [
        task["task_id"]
        for state in job["result"]["job_states"]
        for result in state["results"]
        for task in result["success_tasks"]
    ]
    if sorted(done) != sorted(blob.hex for blob in image.blobs):
        raise RuntimeError(f"job {job_id} succeeded without every blob: {done}")
    return {"job_id": job_id, "seconds": elapsed, "cpu_seconds": cpu, "claimed_after_s": claimed}


async def poll_load(url: str, token: str, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` loops of GET ``url`` for ``seconds``; latency of each, and its status."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        end = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < end:
                start = time.perf_counter()
                try:
                    async with session.get(url, headers=headers) as response:
                        await response.read()
                        outcomes[str(response.status)] += 1
                except aiohttp.ClientError as exc:
                    outcomes[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.perf_counter() - began
    ordered = sorted(latencies)

    def percentile(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "clients": clients,
        "seconds": round(wall, 2),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(0.50), 2),
        "p99_ms": round(percentile(0.99), 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "non_200": sum(n for status, n in outcomes.items() if status != "200"),
        "outcomes": dict(outcomes),
    }


@dataclass
class Stack:
    """What every timed run uses: the registry with the image, manager, scheduler, a token."""

    root: Path
    image: Image
    registry: Registry
    manager: Process
    scheduler: Process
    session: aiohttp.ClientSession
    token: str

    @property
    def url(self) -> str:
        return f"{self.registry.url}/v2/{REPOSITORY}/manifests/{TAG}"

    async def preheat_with_a_fresh_seed(self, name: str) -> dict[str, Any]:
        scheduler_addr = f"127.0.0.1:{self.scheduler.port('port')}"
        seed_yaml = daemon_config(
            self.root / name, seedPeer={"enable": True}, scheduler={"addrs": [scheduler_addr]}
        )
        seed = await start_process(
            name, ["daemon", "--config", str(seed_yaml)], self.root / f"{name}.log"
        )
        async with running(seed):
            await self.scheduler.wait_for_line(
                rf'msg="host registered" host_id=127\.0\.0\.1-{name}-seed\b', 30
            )
            result = await preheat_once(
                self.session, self.manager, self.scheduler, self.token, self.url, self.image
            )
        # As curl's files are, the last run's blobs are removed before the next: each run
        # writes into page cache that was freed, not into memory never used before.
        shutil.rmtree(self.root / name)
        return result

    async def series(self, label: str, runs: int) -> dict[str, Any]:
        """``runs`` rounds of curl, verified curl and a preheat, interleaved."""
        curl: list[Timed] = []
        verified: list[Timed] = []
        preheats: list[dict[str, Any]] = []
        for run in range(runs):
            curl.append(curl_blobs(self.registry, self.image, self.root / "curl"))
            verified.append(curl_blobs_verified(self.registry, self.image, self.root / "curl"))
            preheats.append(await self.preheat_with_a_fresh_seed(f"seed-{label}-{run}"))
        total = sum(blob.size for blob in self.image.blobs)
        curl_s = median([run.seconds for run in curl])
        verified_s = median([run.seconds for run in verified])
        preheat_s = median([run["seconds"] for run in preheats])
        return {
            "seconds": {
                "curl_direct_parallel": [round(run.seconds, 3) for run in curl],
                "curl_verified_parallel": [round(run.seconds, 3) for run in verified],
                "preheat_post_to_success": [round(run["seconds"], 3) for run in preheats],
                "preheat_claimed_after": [round(run["claimed_after_s"], 3) for run in preheats],
            },
            "machine_cpu_seconds": {
                "cores": os.cpu_count(),
                "curl_direct_parallel": [round(run.cpu_seconds, 2) for run in curl],
                "curl_verified_parallel": [round(run.cpu_seconds, 2) for run in verified],
                "preheat_post_to_success": [round(run["cpu_seconds"], 2) for run in preheats],
            },
            "throughput_mib_s": {
                "curl_direct_parallel": round(total / MIB / curl_s, 1),
                "curl_verified_parallel": round(total / MIB / verified_s, 1),
                "preheat": round(total / MIB / preheat_s, 1),
            },
            "ratio_preheat_vs_curl": round(preheat_s / curl_s, 3),
            "ratio_preheat_vs_curl_verified": round(preheat_s / verified_s, 3),
            "last_job_id": preheats[-1]["job_id"],
        }


async def measure(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    layers_mib = [int(size) for size in args.layers_mib.split(",")]
    links = [float(rate) for rate in args.link_gbit.split(",")] if args.link_gbit else []
    began = time.perf_counter()
    layout, image = build_image(root, layers_mib)
    build_s = time.perf_counter() - began
    async with AsyncExitStack() as stack:
        registry = await start_registry(root / "registry", root / "registry" / "storage")
        stack.push_async_callback(registry.stop)
        await skopeo.push(layout, "bench", registry.reference(REPOSITORY, TAG))

        manager_yaml = write_manager_yaml(root / "manager", "", logLevel="info")
        manager = await stack.enter_async_context(
            running(
                await start_process(
                    "manager", ["manager", "--config", str(manager_yaml)], root / "manager.log"
                )
            )
        )
        token = await create_token(manager_yaml)
        link = {"addr": f"127.0.0.1:{manager.port('port')}"}
        config = scheduler_config(root / "scheduler", manager=link)
        scheduler = await stack.enter_async_context(
            running(
                await start_process(
                    "scheduler", ["scheduler", "--config", str(config)], root / "scheduler.log"
                )
            )
        )
        await scheduler.wait_for_line('msg="registered with the manager"', 30)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        bench = Stack(root, image, registry, manager, scheduler, session, token)

        results = await bench.series("loopback", args.runs)
        sha256_s = median([sha256_one_core(image, root / "curl") for _ in range(args.runs)])
        results["machine_cpu_seconds"]["sha256_of_the_image_one_core"] = round(sha256_s, 3)
        job_url = f"http://127.0.0.1:{manager.port('port')}/oapi/v1/jobs/{results['last_job_id']}"
        polls = await poll_load(job_url, token, args.clients, args.poll_seconds)
        limited: dict[str, Any] = {}
        for gbit in links:
            with limited_replies(registry.port, gbit):
                limited[f"{gbit:g}gbit"] = await bench.series(f"{gbit:g}gbit", args.runs)

    return {
        "image": {
            "layers_mib": layers_mib,
            "blobs": len(image.blobs),
            "total_bytes": sum(blob.size for blob in image.blobs),
            "build_seconds": round(build_s, 1),
        },
        "runs": args.runs,
        **results,
        "job_polls": polls,
        "registry_link_limited": limited,
        "config": {"scheduler.manager.claimInterval": "1s (default)", "seed peers": 1},
        "targets": {"ratio_preheat_vs_curl": "<= 1.2", "job_polls.non_200": "== 0"},
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    limited = results["registry_link_limited"]
    panels = 3 if limited else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.5))
    left, right = axes[0], axes[-1]
    seconds = {
        "curl": median(results["seconds"]["curl_direct_parallel"]),
        "curl + sha256": median(results["seconds"]["curl_verified_parallel"]),
        "preheat\nPOST→SUCCESS": median(results["seconds"]["preheat_post_to_success"]),
    }
    colors = ["#888888", "#bbbbbb", "#3b7dd8"]
    bars = left.bar(list(seconds), list(seconds.values()), color=colors)
    left.bar_label(bars, fmt="%.2f s")
    mib = results["image"]["total_bytes"] / MIB
    left.set_title(f"{mib:.0f} MiB image, {results['image']['blobs']} blobs, loopback")
    left.set_ylabel("seconds")
    if limited:
        middle = axes[1]
        names = list(limited)
        width = 0.38
        for offset, (key, label, color) in enumerate(
            [
                ("curl_direct_parallel", "curl", "#888888"),
                ("preheat_post_to_success", "preheat", "#3b7dd8"),
            ]
        ):
            values = [median(limited[name]["seconds"][key]) for name in names]
            xs = [i + (offset - 0.5) * width for i in range(len(names))]
            bars = middle.bar(xs, values, width, label=label, color=color)
            middle.bar_label(bars, fmt="%.2f s")
        middle.set_xticks(range(len(names)))
        middle.set_xticklabels(
            [f"{name}\n{limited[name]['ratio_preheat_vs_curl']:.2f}×" for name in names]
        )
        middle.set_title("registry answers limited to a link rate")
        middle.set_ylabel("seconds")
        middle.legend()
    polls = results["job_polls"]
    latency = {"p50": polls["p50_ms"], "p99": polls["p99_ms"]}
    bars = right.bar(list(latency), list(latency.values()), color="#3b7dd8")
    right.bar_label(bars, fmt="%.1f ms")
    right.set_title(
        f"GET /oapi/v1/jobs/{{id}}, {polls['clients']} clients\n"
        f"{polls['requests_per_s']:.0f} req/s, {polls['non_200']} non-200"
    )
    right.set_ylabel("latency (ms)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers-mib", default="64,256,280")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument(
        "--link-gbit",
        default="",
        help="also run with the registry's answers limited to these rates (Gbit/s, e.g. 5,10)",
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="work (and leave the logs) in this directory"
    )
    args = parser.parse_args()
    free_page_cache()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        results = uvloop.run(measure(args.keep, args))
    else:
        with tempfile.TemporaryDirectory(prefix="swarmfly-bench-", dir="/var/tmp") as tmp:
            results = uvloop.run(measure(Path(tmp), args))
    emit(results, RESULTS, "preheat")
    plot(results, RESULTS / "preheat.png")


if __name__ == "__main__":
    main()
