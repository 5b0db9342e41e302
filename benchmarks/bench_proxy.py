"""The daemon's proxy on loopback, for one large blob in a real registry.

    .venv/bin/python benchmarks/bench_proxy.py [--size-mib 1024] [--runs 3] [--clients 32]
                                               [--heads 1000]

Debian's ``docker-registry`` serves a random blob (pushed through its HTTP API) and a manifest
that names it. curl fetches the blob to /dev/null, ``--runs`` times each (median reported):
straight from the registry; through the daemon cold (its task deleted before each run) and
warm (from its store); through nginx with ``proxy_cache`` warm (a common home-made mirror);
and from a bare aiohttp ``web.FileResponse`` of the same file (sendfile from Python: the
ceiling for the daemon's warm path). Then ``--clients`` curls fetch the blob through a cold
daemon at once, and the bytes the daemon took from upstream are counted. Finally ``--heads``
manifest HEADs go to the registry and through the proxy, interleaved on keep-alive connections,
for the latency the proxy adds.

Targets: warm >= 0.9x FileResponse; cold >= 0.8x direct; upstream bytes for the concurrent
clients = 1x the blob; added p99 latency of a manifest HEAD <= 2 ms. JSON on stdout and in
benchmarks/results/proxy.json; a PNG in benchmarks/results/proxy.png.
"""

from __future__ import annotations

import argparse
import http.client
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from _harness import (
    ORIGIN_SCRIPT,
    daemon_config,
    delete_task,
    emit,
    free_page_cache,
    free_port,
    make_file,
    median,
    peak_rss_mb,
    process,
    ready_fields,
    wait_port,
)
from _mirrors import OCI_MANIFEST, nginx_config, push_blob, push_manifest, registry_config

RESULTS = Path(__file__).resolve().parent / "results"
REPOSITORY = "bench/app"
MIB = 1 << 20


def curl(url: str, size: int, headers: tuple[str, ...] = ()) -> float:
    """Seconds curl took to fetch ``url`` to /dev/null; the status and size are checked."""
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}"]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, url], check=True, capture_output=True, text=True).stdout
    status, got, seconds = out.split()
    if status != "200" or int(got) != size:
        raise RuntimeError(f"{url}: status {status}, {got} of {size} bytes")
    return float(seconds)


def metric(control: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{control}/metrics") as answer:
        text = answer.read().decode()
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def concurrent(url: str, size: int, clients: int) -> dict[str, float]:
    """``clients`` curls at once; wall time and each client's time."""
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}"]
    start = time.perf_counter()
    procs = [
        subprocess.Popen([*args, url], stdout=subprocess.PIPE, text=True) for _ in range(clients)
    ]
    outs = [proc.communicate()[0].split() for proc in procs]
    wall = time.perf_counter() - start
    if any(out[0] != "200" or int(out[1]) != size for out in outs):
        raise RuntimeError(f"a concurrent client failed: {outs}")
    times = [float(out[2]) for out in outs]
    return {"wall_s": wall, "client_median_s": median(times), "client_max_s": max(times)}


def head_latencies(registry: int, proxy: int, count: int) -> dict[str, dict[str, float]]:
    """Manifest HEADs, direct and through the proxy, interleaved; milliseconds."""
    path = f"/v2/{REPOSITORY}/manifests/v1"
    targets = {
        "direct": (http.client.HTTPConnection("127.0.0.1", registry), path),
        "proxy": (
            http.client.HTTPConnection("127.0.0.1", proxy),
            f"{path}?ns=127.0.0.1%3A{registry}",
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for index in range(count + 50):  # the first 50 warm connections and caches up
        for name, (conn, target) in targets.items():
            start = time.perf_counter()
            conn.request("HEAD", target, headers={"Accept": OCI_MANIFEST})
            answer = conn.getresponse()
            answer.read()
            elapsed = (time.perf_counter() - start) * 1000
            if answer.status != 200:
                raise RuntimeError(f"HEAD {name}: {answer.status}")
            if index >= 50:
                samples[name].append(elapsed)
    return {name: percentiles(values) for name, values in samples.items()}


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": at(1.0)}


def through_daemon(
    root: Path, registry: int, digest: str, args: argparse.Namespace
) -> dict[str, Any]:
    size = args.size_mib * MIB
    config = daemon_config(
        root / "daemon",
        proxy={
            "server": {"ip": "127.0.0.1", "port": 0},
            "registryMirror": {"addr": f"http://127.0.0.1:{registry}"},
        },
    )
    log = root / "daemon.log"
    command = [sys.executable, "-m", "swarmfly", "daemon", "--config", str(config)]
    with process(command, log, "msg=ready") as daemon:
        ready = ready_fields(log)
        control, proxy = int(ready["control_port"]), int(ready["proxy_port"])
        url = f"http://127.0.0.1:{proxy}/v2/{REPOSITORY}/blobs/{digest}?ns=127.0.0.1%3A{registry}"
        task_id = digest.removeprefix("sha256:")
        cold = []
        for _ in range(args.runs):
            delete_task(control, task_id)
            cold.append(curl(url, size))
        warm = [curl(url, size) for _ in range(args.runs)]
        heads = head_latencies(registry, proxy, args.heads)
        delete_task(control, task_id)
        before = upstream_bytes(control)
        crowd = concurrent(url, size, args.clients)
        crowd["upstream_bytes"] = upstream_bytes(control) - before
        crowd["upstream_vs_blob"] = round(crowd["upstream_bytes"] / size, 3)
        rss = peak_rss_mb(daemon.pid)
    return {"cold": cold, "warm": warm, "heads": heads, "crowd": crowd, "rss": rss}


def upstream_bytes(control: int) -> float:
    """Bytes the daemon took from upstreams: its downloads, plus anything it relayed."""
    return metric(control, "swarmfly_daemon_source_bytes_total") + metric(
        control, 'swarmfly_proxy_bytes_total{origin="upstream"}'
    )


def through_nginx(root: Path, registry: int, digest: str, size: int, runs: int) -> list[float]:
    port = free_port()
    config = nginx_config(root / "nginx", port, registry)
    command = ["/usr/sbin/nginx", "-p", str(root / "nginx"), "-c", str(config), "-g", "daemon off;"]
    with process(command, root / "nginx.log"):
        wait_port(port)
        url = f"http://127.0.0.1:{port}/v2/{REPOSITORY}/blobs/{digest}"
        curl(url, size)  # fills the cache
        status = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-D", "-", url], capture_output=True, text=True
        ).stdout
        if "X-Cache-Status: HIT" not in status:
            raise RuntimeError(f"nginx did not cache the blob:\n{status}")
        return [curl(url, size) for _ in range(runs)]


def bare_file_response(root: Path, path: Path, size: int, runs: int) -> list[float]:
    port = free_port()
    command = [sys.executable, "-c", ORIGIN_SCRIPT, str(path.parent), str(port)]
    with process(command, root / "fileresponse.log"):
        wait_port(port)
        return [curl(f"http://127.0.0.1:{port}/{path.name}", size) for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--heads", type=int, default=1000)
    args = parser.parse_args()
    size = args.size_mib * MIB
    free_page_cache()
    with tempfile.TemporaryDirectory(prefix="swarmfly-bench-proxy-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        (root / "www").mkdir()
        layer = root / "www" / "layer.bin"
        make_file(layer, size)
        config_blob = root / "config.json"
        config_blob.write_text('{"architecture":"amd64","os":"linux"}')
        registry = free_port()
        (root / "registry").mkdir()
        command = [
            "/usr/bin/docker-registry",
            "serve",
            str(registry_config(root / "registry", registry)),
        ]
        with process(command, root / "registry.log"):
            wait_port(registry)
            digest = push_blob(registry, REPOSITORY, layer)
            push_blob(registry, REPOSITORY, config_blob)
            push_manifest(registry, REPOSITORY, "v1", config_blob, layer)
            direct_url = f"http://127.0.0.1:{registry}/v2/{REPOSITORY}/blobs/{digest}"
            direct = [curl(direct_url, size) for _ in range(args.runs)]
            bare = bare_file_response(root, layer, size, args.runs)
            nginx = through_nginx(root, registry, digest, size, args.runs)
            daemon = through_daemon(root, registry, digest, args)
    results = summarise(args, direct, bare, nginx, daemon)
    emit(results, RESULTS, "proxy")
    plot(results, RESULTS / "proxy.png")


def summarise(
    args: argparse.Namespace,
    direct: list[float],
    bare: list[float],
    nginx: list[float],
    daemon: dict[str, Any],
) -> dict[str, Any]:
    mib = args.size_mib
    seconds = {
        "direct": direct,
        "daemon_cold": daemon["cold"],
        "daemon_warm": daemon["warm"],
        "nginx_cache_warm": nginx,
        "bare_fileresponse": bare,
    }
    speed = {name: round(mib / median(values), 1) for name, values in seconds.items()}
    crowd = daemon["crowd"]
    heads = daemon["heads"]
    added_p99 = round(heads["proxy"]["p99_ms"] - heads["direct"]["p99_ms"], 3)
    return {
        "size_bytes": mib * MIB,
        "runs": args.runs,
        "seconds": seconds,
        "throughput_mib_s": speed,
        "ratio_warm_vs_fileresponse": round(speed["daemon_warm"] / speed["bare_fileresponse"], 3),
        "ratio_cold_vs_direct": round(speed["daemon_cold"] / speed["direct"], 3),
        "ratio_warm_vs_nginx_warm": round(speed["daemon_warm"] / speed["nginx_cache_warm"], 3),
        "concurrent": {
            "clients": args.clients,
            **{k: round(v, 3) for k, v in crowd.items()},
            "aggregate_mib_s": round(args.clients * mib / crowd["wall_s"], 1),
        },
        "manifest_head_latency": {
            **heads,
            "added_p50_ms": round(heads["proxy"]["p50_ms"] - heads["direct"]["p50_ms"], 3),
            "added_p99_ms": added_p99,
            "requests": args.heads,
        },
        "daemon_peak_rss_mb": round(daemon["rss"], 1),
        "targets": {
            "warm_vs_fileresponse": ">= 0.9",
            "cold_vs_direct": ">= 0.8",
            "concurrent_upstream_vs_blob": "== 1.0",
            "added_head_p99_ms": "<= 2",
        },
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    speeds = results["throughput_mib_s"]
    bars = left.bar(list(speeds), list(speeds.values()), color="#3b7dd8")
    left.bar_label(bars, fmt="%.0f")
    left.set_ylabel("MiB/s (median)")
    left.set_title(f"{results['size_bytes'] >> 20} MiB blob on loopback, curl to /dev/null")
    left.tick_params(axis="x", labelrotation=20)
    heads = results["manifest_head_latency"]
    labels = ["p50", "p90", "p99"]
    for offset, name in ((-0.2, "direct"), (0.2, "proxy")):
        values = [heads[name][f"{label}_ms"] for label in labels]
        right.bar([i + offset for i in range(3)], values, width=0.4, label=name)
    right.set_xticks(range(3), labels)
    right.set_ylabel("ms")
    right.set_title(f"manifest HEAD, {heads['requests']} requests")
    right.legend()
    crowd = results["concurrent"]
    fig.suptitle(
        f"{crowd['clients']} concurrent clients: upstream {crowd['upstream_vs_blob']}x the blob, "
        f"{crowd['aggregate_mib_s']:.0f} MiB/s aggregate"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
