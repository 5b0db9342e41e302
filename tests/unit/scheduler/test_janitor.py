"""The janitor drops hosts silent past hostTTL, by a clock the test moves."""

from __future__ import annotations

import pytest

from swarmfly.scheduler.janitor import HostJanitor, sweep_interval
from swarmfly.scheduler.metrics import SchedulerMetrics
from swarmfly.scheduler.state import PeerState
from swarmfly.wire.scheduler import HostLoad
from tests.unit.scheduler.sample import TTL, World


def _janitor(world: World) -> tuple[HostJanitor, SchedulerMetrics]:
    metrics = SchedulerMetrics()
    return HostJanitor(world.state, metrics, host_ttl=TTL, clock=world.clock), metrics


def test_silent_hosts_go_with_their_peers_and_tasks() -> None:
    world = World()
    janitor, metrics = _janitor(world)
    quiet = world.host("quiet")
    chatty = world.host("chatty")
    source = world.peer("source", quiet, task="only-on-quiet", state=PeerState.BACK_TO_SOURCE)
    shared = world.peer("shared-on-quiet", quiet, task="shared", state=PeerState.SUCCEEDED)
    follower = world.peer("follower", chatty, task="shared", state=PeerState.RUNNING)
    follower.parents.add(shared.peer_id)

    world.clock.advance(TTL)  # exactly TTL silent: still alive
    assert janitor.sweep() == []
    world.state.keep_alive(chatty.host_id, HostLoad(), world.clock())
    world.clock.advance(0.001)
    assert janitor.sweep() == [quiet.host_id]

    assert set(world.state.hosts) == {chatty.host_id}
    assert set(world.state.peers) == {"follower"}
    assert source.task_id not in world.state.tasks
    assert follower.parents == set()
    assert metrics.registry.get_sample_value("swarmfly_scheduler_hosts_dropped_total") == 1
    assert janitor.sweep() == []


def test_keepalives_keep_a_host() -> None:
    world = World()
    janitor, _ = _janitor(world)
    host = world.host("h")
    for _ in range(10):
        world.clock.advance(TTL * 0.9)
        world.state.keep_alive(host.host_id, HostLoad(), world.clock())
        assert janitor.sweep() == []


@pytest.mark.parametrize(("ttl", "interval"), [(30.0, 10.0), (0.3, 0.1), (0.01, 0.05)])
def test_sweep_interval(ttl: float, interval: float) -> None:
    assert sweep_interval(ttl) == pytest.approx(interval)


async def test_running_starts_and_stops() -> None:
    world = World()
    janitor, _ = _janitor(world)
    async with janitor.running() as running:
        assert running is janitor
