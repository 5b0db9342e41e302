"""Hosts, peers and a clock for the scheduler's unit tests: a small world built in a line each."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable

from swarmfly import errors
from swarmfly.scheduler.state import Host, Peer, PeerState, SchedulerState
from swarmfly.wire.scheduler import HostInfo, HostLoad, SeedOrder, SeedOrderAccepted, TaskSpec

TTL = 30.0


class FakeClock:
    """A clock that only moves when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def task_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def spec(name: str = "t") -> TaskSpec:
    # a URL with a port, a path with slashes and a signed query: what real tasks look like
    return TaskSpec(
        task_id=task_id(name),
        url=f"http://registry:5000/v2/test/{name}/blobs/x?X-Amz-Signature=s",
        headers=[("Authorization", "Bearer secret")],
    )


def host_info(
    name: str,
    *,
    seed: bool = False,
    idc: str = "",
    location: str = "",
    load: HostLoad | None = None,
    port: int = 4000,
) -> HostInfo:
    ip = f"10.0.0.{sum(name.encode()) % 250 + 1}"
    return HostInfo(
        host_id=f"{ip}-{name}{'-seed' if seed else ''}",
        hostname=name,
        ip=ip,
        upload_port=port,
        control_port=port + 3,
        is_seed=seed,
        idc=idc,
        location=location,
        load=load or HostLoad(),
    )


class World:
    """A scheduler state with a fake clock, and shorthand to fill it."""

    def __init__(self) -> None:
        self.state = SchedulerState()
        self.clock = FakeClock()

    def host(self, name: str, **kwargs: object) -> Host:
        """The host called ``name``, registered now unless it already is."""
        info = host_info(name, **kwargs)  # type: ignore[arg-type]
        if info.host_id not in self.state.hosts:
            self.state.register_host(info, self.clock())
        return self.state.hosts[info.host_id]

    def peer(
        self,
        name: str,
        host: Host | str | None = None,
        *,
        task: str = "t",
        state: PeerState = PeerState.PENDING,
        pieces: Iterable[int] = (),
        parents: Iterable[Peer] = (),
    ) -> Peer:
        if host is None or isinstance(host, str):
            host = self.host(host or f"host-of-{name}")
        peer = self.state.add_peer(name, host, spec(task), state)
        peer.pieces.update(pieces)
        peer.parents.update(parent.peer_id for parent in parents)
        return peer


class FakeSeeds:
    """Seed peers by IP: each accepts, refuses with an error, or waits until released."""

    def __init__(self) -> None:
        self.orders: list[tuple[str, SeedOrder]] = []
        self.refuse: dict[str, errors.SwarmflyError] = {}
        self.release = asyncio.Event()
        self.release.set()
        self.reached = asyncio.Event()
        self.state = "running"

    async def order(
        self, host_ip: str, control_port: int, message: SeedOrder, *, time_limit: float
    ) -> SeedOrderAccepted:
        self.orders.append((host_ip, message))
        self.reached.set()
        await self.release.wait()
        if host_ip in self.refuse:
            raise self.refuse[host_ip]
        return SeedOrderAccepted(
            task_id=message.task.task_id, peer_id=message.peer_id, state=self.state
        )
