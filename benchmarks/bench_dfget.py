"""dfget against curl on loopback: cold (back-to-source through the daemon) and warm (store).

    .venv/bin/python benchmarks/bench_dfget.py [--size-mib 1024] [--runs 3]

One origin (aiohttp FileResponse, sendfile) serves a random file; curl, dfget-cold and
dfget-warm each download it to a file on the same disk, ``--runs`` times; the median of each
is reported with the ratios against curl, and the daemon's peak RSS. Targets: cold >= 0.8x
curl, warm >= 1.0x curl, daemon peak RSS <= 150 MB. JSON on stdout and in
benchmarks/results/dfget.json; a bar chart in benchmarks/results/dfget.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _harness import (
    ORIGIN_SCRIPT,
    bar_chart,
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
    timed,
    wait_port,
)

from swarmfly import idgen  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib << 20
    free_page_cache()
    with tempfile.TemporaryDirectory(prefix="swarmfly-bench-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        (root / "www").mkdir()
        make_file(root / "www" / "blob.bin", size)
        port = free_port()
        origin_args = [sys.executable, "-c", ORIGIN_SCRIPT, str(root / "www"), str(port)]
        with process(origin_args, root / "origin.log"):
            url = f"http://127.0.0.1:{port}/blob.bin"
            wait_port(port)
            results = measure(root, url, size, args.runs)
    emit(results, RESULTS, "dfget")
    bar_chart(
        {k: v for k, v in results["throughput_mib_s"].items()},
        f"dfget vs curl, {args.size_mib} MiB on loopback (median of {args.runs})",
        "MiB/s",
        RESULTS / "dfget.png",
    )


def measure(root: Path, url: str, size: int, runs: int) -> dict[str, object]:
    out = root / "out.bin"
    dfget = [sys.executable, "-m", "swarmfly", "dfget"]
    config = daemon_config(root / "daemon")
    log = root / "daemon.log"
    curl: list[float] = []
    cold: list[float] = []
    with process(
        [sys.executable, "-m", "swarmfly", "daemon", "--config", str(config)], log, "msg=ready"
    ) as daemon:
        control = int(ready_fields(log)["control_port"])
        addr = f"http://127.0.0.1:{control}"
        task_id = idgen.task_id(url, filtered_query_params=idgen.DEFAULT_FILTERED_QUERY_PARAMS)
        # curl and dfget take turns, and each starts with the previous copy gone (curl's file;
        # dfget's file and the task in the store): on this VM, writing into memory the page
        # cache has not used before costs up to 10x more, so whoever kept old copies cached
        # would pay for it in later runs.
        for _ in range(runs):
            curl.append(timed(["curl", "-sf", "-o", str(out), url], out))
            delete_task(control, task_id)
            cold.append(timed([*dfget, url, "-O", str(out), "--daemon-addr", addr], out))
        warm = [timed([*dfget, url, "-O", str(out), "--daemon-addr", addr]) for _ in range(runs)]
        rss = peak_rss_mb(daemon.pid)
    mib = size / (1 << 20)
    speeds = {
        "curl": mib / median(curl),
        "dfget_cold": mib / median(cold),
        "dfget_warm": mib / median(warm),
    }
    return {
        "size_bytes": size,
        "runs": runs,
        "seconds": {"curl": curl, "dfget_cold": cold, "dfget_warm": warm},
        "throughput_mib_s": {k: round(v, 1) for k, v in speeds.items()},
        "ratio_cold_vs_curl": round(speeds["dfget_cold"] / speeds["curl"], 3),
        "ratio_warm_vs_curl": round(speeds["dfget_warm"] / speeds["curl"], 3),
        "daemon_peak_rss_mb": round(rss, 1),
        "targets": {"cold": ">= 0.8", "warm": ">= 1.0", "daemon_peak_rss_mb": "<= 150"},
    }


if __name__ == "__main__":
    main()
