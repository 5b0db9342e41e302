"""The swarm under real bandwidth limits (issue #4): N peers, direct from the origin or through
Swarmfly, every host in its own network namespace behind a shaped link.

    sudo .venv/bin/python benchmarks/bench_swarm.py [--size-mib 512] [--peers 1,4,8,16]
                                                    [--rate 200mbit] [--modes direct,swarm]

Topology, all of it created (and deleted) by this script; nothing touches the root namespace's
interfaces or routes, and all traffic stays on 10.231.0.0/24 inside these namespaces:

    sfb<pid>-hub    bridge br0; one veth per host enslaved to it
    sfb<pid>-org    10.231.0.1   origin: aiohttp FileResponse (Range, sendfile) of a random blob
    sfb<pid>-sch    10.231.0.2   scheduler
    sfb<pid>-seed   10.231.0.3   seed daemon (seedPeer.enable)
    sfb<pid>-p<i>   10.231.0.<10+i>  peer i: curl (direct) or a daemon + dfget (swarm)

Every link, the origin's included, is shaped in both directions with ``tc … tbf`` at ``--rate``:
on the namespace's eth0 (its upload) and on its veth in the hub (its download).

For each N: (a) ``direct``: N curls, one per peer namespace, fetch the blob from the origin at
once; (b) ``swarm``: a fresh scheduler, a fresh seed daemon and N fresh peer daemons (empty
stores) start, then N ``dfget -O`` run at once, one per peer namespace, each talking to its
namespace's daemon over loopback (so the daemon puts the file in place itself, as it does for a
local dfget). Reported per N and mode: each peer's completion time (from the common start to
its process exit), median and slowest, and the origin's egress bytes: the TX byte counter of
the origin namespace's eth0, read with ``ip -s -j link show eth0`` before and after (it counts
frames, so headers are included; the direct N=1 ratio shows that overhead for one full
transfer). Swarm runs also report where the daemons' pieces came from (their /metrics), the
sha256 of every output, and any warning or error line in the logs.

Targets (issue #4), reported, not tuned for: swarm origin egress <= 1.05 x blob for every N;
swarm slowest peer at N=16 <= 2 x a single peer alone (direct N=1); direct N=16 is about 16x.

JSON on stdout and in benchmarks/results/swarm.json; a line chart in
benchmarks/results/swarm.png. Needs root, ``ip``, ``tc`` (tbf) and ``curl``. Namespaces and
processes are removed on exit, Ctrl-C and SIGTERM included; logs are kept under /tmp when a run
failed (or with ``--keep-logs``), and their path is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from _harness import cpu_ticks, emit, make_file

RESULTS = Path(__file__).resolve().parent / "results"
NET = "10.231.0"
ORIGIN_IP, SCHEDULER_IP, SEED_IP = f"{NET}.1", f"{NET}.2", f"{NET}.3"
ORIGIN_PORT, SCHEDULER_PORT = 8080, 8002
CONTROL_PORT, UPLOAD_PORT, PROXY_PORT = 4003, 4000, 4001
MAX_PEERS = 200
STARTUP_TIMEOUT = 90.0  # every daemon of a run ready and registered
STOP_TIMEOUT = 15.0
CMD_TIMEOUT = 30.0  # one ip/tc/curl probe command
SWARMFLY = [sys.executable, "-m", "swarmfly"]
IN_NS = ["ip", "netns", "exec"]

ORIGIN_SCRIPT = """
import sys
from aiohttp import web
root, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
async def handle(request):
    return web.FileResponse(root + '/' + request.match_info['name'])
app = web.Application()
app.router.add_get('/{name}', handle)
web.run_app(app, host=host, port=port, print=None, access_log=None)
"""


class Interrupted(BaseException):
    """SIGTERM/SIGHUP, turned into an exception so every ``finally`` runs."""


def peer_ip(i: int) -> str:
    return f"{NET}.{10 + i}"


def rate_bytes(rate: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg]?)bit", rate.lower())
    if not match:
        raise SystemExit(f"--rate {rate!r}: expected e.g. 200mbit")
    return float(match[1]) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[match[2]] / 8


def preflight() -> None:
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (network namespaces and tc need CAP_NET_ADMIN)")
    for tool in ("ip", "tc", "curl"):
        if shutil.which(tool) is None:
            problems.append(f"'{tool}' not found on PATH (apt-get install iproute2 curl)")
    if problems:
        raise SystemExit("bench_swarm: " + "; ".join(problems))


@dataclass
class Lab:
    """Namespaces and processes this script created, by name and PID, for the teardown."""

    prefix: str
    burst: str
    namespaces: list[str] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def hub(self) -> str:
        return f"{self.prefix}-hub"

    def run(self, *args: str, timeout: float = CMD_TIMEOUT) -> str:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def add_namespace(self, name: str) -> None:
        self.namespaces.append(name)  # recorded first: a half-made namespace is still deleted
        self.run("ip", "netns", "add", name)
        self.run("ip", "-n", name, "link", "set", "lo", "up")

    def build(self, hosts: dict[str, str], rate: str) -> None:
        """The hub with its bridge, then one namespace per host with a shaped veth to it."""
        self.add_namespace(self.hub)
        self.run("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        self.run("ip", "-n", self.hub, "link", "set", "br0", "up")
        for index, (name, ip) in enumerate(hosts.items()):
            ns, veth = f"{self.prefix}-{name}", f"v{index}"
            self.add_namespace(ns)
            # made inside the hub and one end moved: the root namespace never sees either end
            self.run(
                "ip",
                "-n",
                self.hub,
                "link",
                "add",
                veth,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns,
            )
            self.run("ip", "-n", self.hub, "link", "set", veth, "master", "br0", "up")
            self.run("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
            self.run("ip", "-n", ns, "link", "set", "eth0", "up")
            for where, dev in ((ns, "eth0"), (self.hub, veth)):  # its upload, its download
                self.run(
                    "tc",
                    "-n",
                    where,
                    "qdisc",
                    "add",
                    "dev",
                    dev,
                    "root",
                    "tbf",
                    "rate",
                    rate,
                    "burst",
                    self.burst,
                    "latency",
                    "50ms",
                )

    def spawn(
        self, name: str, args: list[str], stdout: Path | None, stderr: Path
    ) -> subprocess.Popen[bytes]:
        """``args`` inside namespace ``name``, in its own session (Ctrl-C reaches only us)."""
        with open(stderr, "ab") as err:
            out = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
            try:
                proc = subprocess.Popen(
                    ["ip", "netns", "exec", f"{self.prefix}-{name}", *args],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    env=dict(os.environ, PYTHONUNBUFFERED="1"),
                )
            finally:
                if stdout:
                    out.close()  # type: ignore[union-attr]
        self.procs.append(proc)
        return proc

    def stop(self, procs: list[subprocess.Popen[bytes]]) -> None:
        """SIGTERM, then SIGKILL whatever is still running after STOP_TIMEOUT."""
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                try:
                    proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    print(f"bench_swarm: pid {proc.pid} survives SIGKILL", file=sys.stderr)
                    continue
            if proc in self.procs:
                self.procs.remove(proc)

    def sync(self, timeout: float = 120.0) -> None:
        """Flush dirty pages (the last run's writeback must not slow the next), bounded."""
        proc = subprocess.Popen(["sync"])
        self.procs.append(proc)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"bench_swarm: sync still running after {timeout:.0f}s", file=sys.stderr)
        else:
            self.procs.remove(proc)

    def egress(self, name: str) -> int:
        link = json.loads(
            self.run("ip", "-n", f"{self.prefix}-{name}", "-s", "-j", "link", "show", "eth0")
        )
        return int(link[0]["stats64"]["tx"]["bytes"])

    def teardown(self) -> list[str]:
        """Kill every process started, delete every namespace made; the ones left, if any."""
        self.stop(list(self.procs))
        for ns in self.namespaces:  # anything still inside a namespace of ours is ours
            try:
                pids = self.run("ip", "netns", "pids", ns).split()
            except (RuntimeError, subprocess.TimeoutExpired):
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for ns in reversed(self.namespaces):  # peers first, the hub last
            try:
                self.run("ip", "netns", "del", ns)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"bench_swarm: {exc}", file=sys.stderr)
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        mine = set(self.namespaces)
        return [line.split()[0] for line in listed.splitlines() if line.split()[0] in mine]


def run_all(
    lab: Lab, commands: list[tuple[str, list[str], Path | None, Path]], timeout: float
) -> list[dict[str, Any]]:
    """Start every command at once; each one's exit status and seconds since the common start.

    A command still running at ``timeout`` is killed and reported with ``timed_out``.
    """
    start = time.monotonic()
    procs = [lab.spawn(ns, args, out, err) for ns, args, out, err in commands]
    ends: list[float | None] = [None] * len(procs)
    while None in ends and time.monotonic() - start < timeout:
        time.sleep(0.05)
        for i, proc in enumerate(procs):
            if ends[i] is None and proc.poll() is not None:
                ends[i] = time.monotonic() - start
    lab.stop(procs)  # only the ones that overran are still running
    return [
        {"rc": proc.returncode, "seconds": end, "timed_out": end is None}
        for proc, end in zip(procs, ends, strict=True)
    ]


def wait_for_line(log: Path, text: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"exited ({proc.returncode}) before logging {text!r}; see {log}")
        time.sleep(0.1)
    raise RuntimeError(f"no {text!r} in {log} after {STARTUP_TIMEOUT:.0f}s")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def metrics(lab: Lab, name: str, ip: str) -> dict[str, float]:
    """The daemon's swarmfly_daemon_* counters, fetched from inside its namespace."""
    url = f"http://{ip}:{CONTROL_PORT}/metrics"
    text = lab.run(*IN_NS, f"{lab.prefix}-{name}", "curl", "-sf", "--max-time", "10", url)
    values = {}
    for line in text.splitlines():
        if line.startswith("swarmfly_daemon_") and "_total" in line.split(" ")[0]:
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return values


def log_problems(logs: list[Path], limit: int = 30) -> list[str]:
    """Warning/error lines, tracebacks and back-to-source decisions, tagged with their file."""
    pattern = re.compile(r"level=(warning|error|critical)|Traceback|back to source", re.I)
    found = []
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            if pattern.search(line):
                found.append(f"{log.parent.name}/{log.name}: {line.strip()[:400]}")
    return found[:limit] + ([f"... {len(found) - limit} more"] if len(found) > limit else [])


def summarize(outcomes: list[dict[str, Any]], size: int, egress: int) -> dict[str, Any]:
    times = sorted(o["seconds"] for o in outcomes if o["seconds"] is not None and o["rc"] == 0)
    ok = len(times) == len(outcomes)
    return {
        "peers": len(outcomes),
        "succeeded": len(times),
        "median_s": round(statistics.median(times), 2) if times else None,
        # a peer that failed or timed out makes "slowest" unknown: None, not a flattering value
        "slowest_s": round(times[-1], 2) if ok else None,
        "times_s": [round(t, 2) for t in times],
        "origin_egress_bytes": egress,
        "origin_egress_ratio": round(egress / size, 4),
        "failures": [
            {"peer": i + 1, **o} for i, o in enumerate(outcomes) if o["rc"] != 0 or o["timed_out"]
        ],
    }


@dataclass
class Bench:
    lab: Lab
    work: Path
    logs: Path
    size: int
    digest: str
    url: str
    timeout_for: Callable[[int], float]  # N -> seconds a run may take
    verify: bool
    failed_runs: list[str] = field(default_factory=list)

    def direct(self, n: int) -> dict[str, Any]:
        run_dir = self.work / f"direct-{n}"
        log_dir = self.logs / f"direct-{n}"
        run_dir.mkdir()
        log_dir.mkdir()
        timeout = self.timeout_for(n)
        curl = [
            "curl",
            "-sSf",
            "--max-time",
            str(int(timeout)),
            "-w",
            "%{http_code} %{size_download}\n",
        ]
        commands = [
            (
                f"p{i}",
                [*curl, "-o", str(run_dir / f"p{i}.bin"), self.url],
                log_dir / f"p{i}.out",
                log_dir / f"p{i}.err",
            )
            for i in range(1, n + 1)
        ]
        result = self.measure(commands, timeout)
        for i in range(1, n + 1):  # curl said 2xx with -f; check it got every byte too
            written = run_dir / f"p{i}.bin"
            got = written.stat().st_size if written.exists() else -1
            if got != self.size and not any(f["peer"] == i for f in result["failures"]):
                result["failures"].append({"peer": i, "error": f"{got} bytes written"})
        shutil.rmtree(run_dir)
        if result["failures"]:
            self.failed_runs.append(f"direct-{n}")
        return result

    def swarm(self, n: int) -> dict[str, Any]:
        run_dir = self.work / f"swarm-{n}"
        log_dir = self.logs / f"swarm-{n}"
        run_dir.mkdir()
        log_dir.mkdir()
        timeout = self.timeout_for(n)
        lab = self.lab
        started: list[subprocess.Popen[bytes]] = []
        try:
            sched_conf = run_dir / "scheduler.yaml"
            server = {"ip": SCHEDULER_IP, "port": SCHEDULER_PORT}
            sched_conf.write_text(yaml.safe_dump({"server": server, "logLevel": "info"}))
            args = [*SWARMFLY, "scheduler", "--config", str(sched_conf)]
            scheduler = lab.spawn("sch", args, None, log_dir / "scheduler.log")
            started.append(scheduler)
            deadline = time.monotonic() + STARTUP_TIMEOUT
            wait_for_line(log_dir / "scheduler.log", "msg=ready", scheduler, deadline)
            daemons = [("seed", SEED_IP, True)] + [
                (f"p{i}", peer_ip(i), False) for i in range(1, n + 1)
            ]
            for name, ip, seed in daemons:  # all start at once; waited for below
                config = self.daemon_config(run_dir / name, name, ip, seed)
                args = [*SWARMFLY, "daemon", "--config", str(config)]
                started.append(lab.spawn(name, args, None, log_dir / f"{name}.log"))
            for (name, _, _), proc in zip(daemons, started[1:], strict=True):
                log = log_dir / f"{name}.log"
                wait_for_line(log, "msg=ready", proc, deadline)
                wait_for_line(log, "registered with scheduler", proc, deadline)
            dfget = [*SWARMFLY, "dfget", self.url, "--timeout", str(int(timeout))]
            commands = [
                (
                    f"p{i}",
                    [
                        *dfget,
                        "-O",
                        str(run_dir / f"p{i}" / "out.bin"),
                        "--daemon-addr",  # its own host's daemon: dfget's usual setup
                        f"http://127.0.0.1:{CONTROL_PORT}",
                    ],
                    None,
                    log_dir / f"dfget-p{i}.err",
                )
                for i in range(1, n + 1)
            ]
            result = self.measure(commands, timeout)
            result["pieces"], result["source_bytes"], result["served_bytes"] = self.counters(
                daemons
            )
        finally:
            lab.stop(started)
        if self.verify:
            outputs = [run_dir / f"p{i}" / "out.bin" for i in range(1, n + 1)]
            with ThreadPoolExecutor(2) as pool:
                digests = list(pool.map(lambda p: sha256_file(p) if p.exists() else "", outputs))
            bad = [i + 1 for i, d in enumerate(digests) if d != self.digest]
            result["outputs_verified"] = not bad
            for i in bad:
                if not any(f.get("peer") == i for f in result["failures"]):
                    result["failures"].append({"peer": i, "error": "sha256 mismatch"})
        result["log_problems"] = log_problems(sorted(log_dir.glob("*")))
        seed_ready = re.search(
            r'msg="task ready".* elapsed_ms=(\d+)', (log_dir / "seed.log").read_text()
        )
        # how long the seed took to fetch the blob from the origin, from its order to the end
        result["seed_task_s"] = round(int(seed_ready[1]) / 1000, 2) if seed_ready else None
        shutil.rmtree(run_dir)
        if result["failures"] or result["source_bytes"].get("peers", 0) > 0:
            self.failed_runs.append(f"swarm-{n}")
        return result

    def measure(self, commands: list[Any], timeout: float) -> dict[str, Any]:
        self.lab.sync()
        before_egress = self.lab.egress("org")
        busy0, total0 = cpu_ticks()
        wall = time.monotonic()
        outcomes = run_all(self.lab, commands, timeout)
        wall = time.monotonic() - wall
        busy1, total1 = cpu_ticks()
        egress = self.lab.egress("org") - before_egress
        for outcome, (_, _, _, err) in zip(outcomes, commands, strict=True):
            if outcome["rc"] != 0 or outcome["timed_out"]:
                tail = err.read_text(errors="replace").strip().splitlines()[-3:]
                outcome["stderr_tail"] = tail
        result = summarize(outcomes, self.size, egress)
        result["wall_s"] = round(wall, 2)
        result["cpu_busy_pct"] = round(100 * (busy1 - busy0) / max(1, total1 - total0), 1)
        return result

    def daemon_config(self, root: Path, name: str, ip: str, seed: bool) -> Path:
        server = {"ip": ip}
        config: dict[str, Any] = {
            "host": {"ip": ip, "hostname": name},
            # every address of the namespace: dfget comes over loopback (so the daemon
            # writes its -O file itself), the benchmark reads /metrics over the peer's IP
            "control": {"server": {"ip": "0.0.0.0", "port": CONTROL_PORT}},
            "upload": {"server": {**server, "port": UPLOAD_PORT}},
            "proxy": {"server": {**server, "port": PROXY_PORT}},
            "storage": {"dir": str(root / "store")},
            "scheduler": {"addrs": [f"{SCHEDULER_IP}:{SCHEDULER_PORT}"]},
            "seedPeer": {"enable": seed},
            "logLevel": "info",
        }
        root.mkdir(parents=True)
        path = root / "dfget.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def counters(
        self, daemons: list[tuple[str, str, bool]]
    ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        pieces: dict[str, float] = {}
        source = {"seed": 0.0, "peers": 0.0}
        served = {"seed": 0.0, "peers": 0.0}
        for name, ip, seed in daemons:
            try:
                values = metrics(self.lab, name, ip)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                pieces.setdefault("unreadable", 0)
                pieces["unreadable"] += 1
                print(f"bench_swarm: metrics of {name}: {exc}", file=sys.stderr)
                continue
            role = "seed" if seed else "peers"
            for key, value in values.items():
                if key.startswith("swarmfly_daemon_pieces_total") and not seed:
                    origin = re.search(r'origin="([^"]*)"', key)
                    label = origin[1] if origin else "?"
                    pieces[label] = pieces.get(label, 0) + value
                elif key.startswith("swarmfly_daemon_source_bytes_total"):
                    source[role] += value
                elif key.startswith("swarmfly_daemon_served_bytes_total") and "upload" in key:
                    served[role] += value
        return pieces, source, served


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {"direct": "#d8553b", "swarm": "#3b7dd8"}
    for mode, color in styles.items():
        rows = [(r["n"], r[mode]) for r in results["runs"] if mode in r]
        if not rows:
            continue
        ns = [n for n, _ in rows]
        nan = float("nan")
        left.plot(
            ns, [m["median_s"] or nan for _, m in rows], "o-", color=color, label=f"{mode} median"
        )
        left.plot(
            ns,
            [m["slowest_s"] or nan for _, m in rows],
            "s--",
            color=color,
            label=f"{mode} slowest",
        )
        right.plot(ns, [m["origin_egress_ratio"] for _, m in rows], "o-", color=color, label=mode)
    alone = results.get("single_peer_alone_s")
    if alone:
        left.axhline(2 * alone, color="grey", linestyle=":", label="2 x one peer alone")
    right.axhline(1.05, color="grey", linestyle=":", label="1.05 x blob (target)")
    size_mib = results["size_bytes"] >> 20
    left.set_title(f"{size_mib} MiB to N peers, every link {results['rate']}")
    left.set_xlabel("N peers")
    left.set_ylabel("completion time (s)")
    right.set_title("origin egress (eth0 TX bytes) / blob size")
    right.set_xlabel("N peers")
    for ax in (left, right):
        ax.set_xticks([r["n"] for r in results["runs"]])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def targets(results: dict[str, Any]) -> dict[str, Any]:
    size = results["size_bytes"]
    swarm = [r for r in results["runs"] if "swarm" in r]
    out: dict[str, Any] = {
        "swarm_origin_egress_le_1.05x": {
            "limit_bytes": int(1.05 * size),
            "per_n": {str(r["n"]): r["swarm"]["origin_egress_ratio"] for r in swarm},
            "met": bool(swarm) and all(r["swarm"]["origin_egress_ratio"] <= 1.05 for r in swarm),
        }
    }
    alone = results.get("single_peer_alone_s")
    biggest = max(swarm, key=lambda r: r["n"]) if swarm else None
    if alone and biggest:
        slowest = biggest["swarm"]["slowest_s"]
        out[f"swarm_slowest_at_n{biggest['n']}_le_2x_alone"] = {
            "single_peer_alone_s": alone,
            "limit_s": round(2 * alone, 2),
            "slowest_s": slowest,
            "ratio": round(slowest / alone, 2) if slowest else None,
            "met": slowest is not None and slowest <= 2 * alone,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--peers", default="1,4,8,16", help="comma-separated values of N")
    parser.add_argument("--rate", default="200mbit", help="tbf rate of every link")
    parser.add_argument("--burst", default="128kb", help="tbf burst of every link")
    parser.add_argument("--modes", default="direct,swarm")
    parser.add_argument(
        "--timeout-factor",
        type=float,
        default=3.0,
        help="a run may take this many times its direct-mode ideal (+60 s)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip sha256 of swarm outputs")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--name", default="swarm", help="results file name")
    args = parser.parse_args()
    peers = sorted({int(n) for n in args.peers.split(",")})
    modes = [m for m in ("direct", "swarm") if m in args.modes.split(",")]
    if not peers or peers[0] < 1 or peers[-1] > MAX_PEERS or not modes:
        raise SystemExit(f"--peers: 1..{MAX_PEERS}; --modes: direct and/or swarm")
    link_rate = rate_bytes(args.rate)
    preflight()

    def interrupted(signum: int, _frame: Any) -> None:
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    size = args.size_mib << 20
    lab = Lab(prefix=f"sfb{os.getpid()}", burst=args.burst)
    stale = [
        n
        for n in subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True
        ).stdout.split()
        if re.match(r"sfb\d+-", n)
    ]
    if stale:
        print(f"bench_swarm: namespaces from an earlier run remain: {stale}", file=sys.stderr)
    logs = Path(tempfile.mkdtemp(prefix="bench_swarm-logs-", dir="/tmp"))
    results: dict[str, Any] = {
        "size_bytes": size,
        "rate": args.rate,
        "tbf": f"rate {args.rate} burst {args.burst} latency 50ms, both directions of every link",
        "blob_at_line_rate_s": round(size / link_rate, 2),  # one blob over one link, no overhead
        "peers": peers,
        "modes": modes,
        "cpus": os.cpu_count(),
        "runs": [],
    }
    wall = time.monotonic()
    complete = False
    bench: Bench | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench_swarm-", dir="/var/tmp") as tmp:
            work = Path(tmp)
            (work / "www").mkdir()
            blob = work / "www" / "blob.bin"
            make_file(blob, size)
            digest = sha256_file(blob)
            hosts = {"org": ORIGIN_IP, "sch": SCHEDULER_IP, "seed": SEED_IP}
            hosts |= {f"p{i}": peer_ip(i) for i in range(1, peers[-1] + 1)}
            lab.build(hosts, args.rate)
            origin = lab.spawn(
                "org",
                [
                    sys.executable,
                    "-c",
                    ORIGIN_SCRIPT,
                    str(work / "www"),
                    ORIGIN_IP,
                    str(ORIGIN_PORT),
                ],
                None,
                logs / "origin.log",
            )
            url = f"http://{ORIGIN_IP}:{ORIGIN_PORT}/blob.bin"
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while (
                subprocess.run(
                    [
                        "ip",
                        "netns",
                        "exec",
                        f"{lab.prefix}-org",
                        "curl",
                        "-sf",
                        "-r",
                        "0-0",
                        "-o",
                        "/dev/null",
                        url,
                    ]
                ).returncode
                != 0
            ):
                if origin.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the origin did not start; see {logs / 'origin.log'}")
                time.sleep(0.2)
            bench = Bench(
                lab,
                work,
                logs,
                size,
                digest,
                url,
                timeout_for=lambda n: 60 + args.timeout_factor * n * size / link_rate,
                verify=not args.no_verify,
            )
            for n in peers:
                row: dict[str, Any] = {"n": n}
                results["runs"].append(row)
                for mode in modes:
                    print(f"bench_swarm: N={n} {mode} ...", file=sys.stderr, flush=True)
                    row[mode] = getattr(bench, mode)(n)
                    m = row[mode]
                    print(
                        f"bench_swarm: N={n} {mode}: median {m['median_s']}s slowest "
                        f"{m['slowest_s']}s egress {m['origin_egress_ratio']}x "
                        f"cpu {m['cpu_busy_pct']}%",
                        file=sys.stderr,
                        flush=True,
                    )
            complete = True
    except KeyboardInterrupt:
        results["error"] = "interrupted (Ctrl-C)"
        raise
    except BaseException as exc:
        results["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not stop the cleanup
        left = lab.teardown()
        results["namespaces_left"] = left
        if left:
            print(f"bench_swarm: could not delete namespaces {left}", file=sys.stderr)
        results["wall_s"] = round(time.monotonic() - wall, 1)
        failed_runs = bench.failed_runs if bench is not None else []
        results["failed_runs"] = failed_runs
        if args.keep_logs or not complete or failed_runs:
            results["logs"] = str(logs)
        else:
            shutil.rmtree(logs, ignore_errors=True)
        results["runs"] = [row for row in results["runs"] if len(row) > 1]
        if results["runs"]:
            direct_one = next(
                (r["direct"] for r in results["runs"] if r["n"] == 1 and "direct" in r), None
            )
            if direct_one and direct_one["slowest_s"]:
                results["single_peer_alone_s"] = direct_one["slowest_s"]
            results["targets"] = targets(results)
            name = args.name if complete else f"{args.name}-partial"
            emit(results, RESULTS, name)
            chart(results, RESULTS / f"{name}.png")
            print(
                f"bench_swarm: {RESULTS / name}.json, {RESULTS / name}.png; logs: "
                f"{results.get('logs', 'deleted')}",
                file=sys.stderr,
            )


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, Interrupted) as stop:
        print(f"bench_swarm: stopped ({stop or 'SIGINT'}); cleaned up", file=sys.stderr)
        sys.exit(130)
