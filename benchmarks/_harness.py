"""Shared pieces of the benchmark scripts: processes, timing, results."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ORIGIN_SCRIPT = """
import sys
from aiohttp import web
root = sys.argv[1]
async def handle(request):
    return web.FileResponse(root + '/' + request.match_info['name'])
app = web.Application()
app.router.add_get('/{name}', handle)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[2]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    with open(path, "wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(left, 16 << 20))
            out.write(chunk)
            left -= len(chunk)


@contextmanager
def process(
    args: list[str], log: Path, ready: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a process; with ``ready``, wait for that text in its stderr first.

    Its output keeps flowing to ``log`` (a thread drains the pipe, so it never blocks).
    """
    out = open(log, "wb", buffering=0)  # noqa: SIM115
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE if ready else out)
    drain: threading.Thread | None = None
    try:
        if ready:
            assert proc.stderr is not None
            for line in iter(proc.stderr.readline, b""):
                out.write(line)
                if ready.encode() in line:
                    break
            else:
                raise RuntimeError(f"{args[0]} exited before it was ready; see {log}")
            stderr = proc.stderr
            drain = threading.Thread(target=lambda: shutil.copyfileobj(stderr, out), daemon=True)
            drain.start()
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if drain is not None:
            drain.join(timeout=5)
        out.close()


def wait_port(port: int, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {deadline}s")


def ready_fields(log: Path) -> dict[str, str]:
    for line in log.read_text().splitlines():
        if "msg=ready" in line:
            return dict(re.findall(r"(\w+)=(\S+)", line))
    raise RuntimeError(f"no ready line in {log}")


def daemon_config(root: Path, **overrides: Any) -> Path:
    config: dict[str, Any] = {
        "host": {"ip": "127.0.0.1"},
        "control": {"server": {"ip": "127.0.0.1", "port": 0}},
        "upload": {"server": {"ip": "127.0.0.1", "port": 0}},
        "proxy": {"server": {"ip": "127.0.0.1", "port": 0}},
        "storage": {"dir": str(root / "store")},
        "logLevel": "info",
        **overrides,
    }
    root.mkdir(parents=True, exist_ok=True)
    path = root / "dfget.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def timed(args: list[str], output: Path | None = None) -> float:
    """Seconds one command takes, starting from the same disk state every time.

    The output is removed and dirty pages are flushed first, so one run's writeback does not
    throttle the next (this machine's disk makes that the largest source of noise).
    """
    if output is not None:
        output.unlink(missing_ok=True)
    os.sync()
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def free_page_cache() -> None:
    """Start from a page cache with room in it: flush, then drop the clean cache (root only).

    On a VM whose memory is full of cached files, every new page a run writes must first be
    reclaimed from the cache, and that cost lands on whichever run comes late (here it made
    the same preheat take 0.8 s or 1.4 s). Called once, before a benchmark writes its inputs,
    so the origin's files are then cached for the baseline and for Swarmfly alike.
    """
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    except OSError as exc:
        print(f"(page cache not dropped: {exc.strerror}; expect noisier figures)", file=sys.stderr)


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (every process, the kernel's threads too):
    the difference across a timed run is what the run cost, wherever it ran."""
    return cpu_ticks()[0] / os.sysconf("SC_CLK_TCK")


@contextmanager
def limited_replies(port: int, gbit: float) -> Iterator[None]:
    """Inside the block, what a server on loopback ``port`` sends goes at most ``gbit``
    Gbit/s, as over a real link; everything else on loopback is left alone (root only).

    An htb qdisc on ``lo``: the server's packets (source port ``port``) go to a class of that
    rate, the rest to one of 100 Gbit/s. Removed when the block exits, however it exits.
    """
    rate = f"{gbit:g}gbit"

    def tc(*args: str) -> None:
        done = subprocess.run(["tc", *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"tc {' '.join(args)}: {done.stderr.strip()}")

    tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "20")
    try:
        tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb",
           "rate", rate, "burst", "4mb", "cburst", "4mb")  # fmt: skip
        tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb",
           "rate", "100gbit", "burst", "4mb")  # fmt: skip
        tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1",
           "u32", "match", "ip", "sport", str(port), "0xffff", "flowid", "1:10")  # fmt: skip
        yield
    finally:
        tc("qdisc", "del", "dev", "lo", "root")


def delete_task(control: int, task_id: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{control}/api/v1/tasks/{task_id}", method="DELETE"
    )
    try:
        urllib.request.urlopen(request).read()
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def emit(results: dict[str, Any], out_dir: Path, name: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2))
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


def bar_chart(values: dict[str, float], title: str, ylabel: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    bars = ax.bar(list(values), list(values.values()), color="#3b7dd8")
    ax.bar_label(bars, fmt="%.0f")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
