"""The scheduler's logic per request, with fake seed peers and a clock the test moves."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from swarmfly import errors
from swarmfly.config import SchedulerServiceConfig
from swarmfly.scheduler.metrics import SchedulerMetrics
from swarmfly.scheduler.service import SchedulerService
from swarmfly.scheduler.state import PeerState
from swarmfly.wire.scheduler import (
    Action,
    AnnouncePeer,
    BadParent,
    HostLoad,
    KeepAlive,
    PeerAssignment,
    RegisterHost,
    ReportPieces,
    ReportResult,
    Reschedule,
)
from tests.unit.scheduler.sample import FakeClock, FakeSeeds, host_info, spec


@dataclass
class Harness:
    service: SchedulerService
    seeds: FakeSeeds
    clock: FakeClock
    metrics: SchedulerMetrics

    def register(self, name: str, *, seed: bool = False, **kwargs: object) -> str:
        info = host_info(name, seed=seed, **kwargs)  # type: ignore[arg-type]
        return self.service.register_host(RegisterHost(host=info)).host_id

    async def announce(
        self, peer_id: str, host_id: str, task: str = "t", *, asked: bool = False
    ) -> PeerAssignment:
        message = AnnouncePeer(
            peer_id=peer_id, host_id=host_id, task=spec(task), need_back_to_source=asked
        )
        return await self.service.announce(message)

    def counter(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(f"swarmfly_scheduler_{name}", labels)
        return value or 0.0


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    seeds, clock, metrics = FakeSeeds(), FakeClock(), SchedulerMetrics()
    config = SchedulerServiceConfig.model_validate({"hostTTL": "30s"})
    service = SchedulerService(config, seeds, metrics, clock=clock, rng=random.Random(1))
    async with service.running():
        yield Harness(service, seeds, clock, metrics)


def _ids(assignment: PeerAssignment) -> list[str]:
    return [parent.peer_id for parent in assignment.parents]


async def test_hosts(harness: Harness) -> None:
    info = host_info("a")
    registered = harness.service.register_host(RegisterHost(host=info))
    assert registered.host_id == info.host_id and registered.keepalive_interval == 5.0
    harness.service.keepalive(info.host_id, KeepAlive(load=HostLoad(active_uploads=2)))
    assert harness.service.state.hosts[info.host_id].load.active_uploads == 2
    with pytest.raises(errors.NotFound):
        harness.service.keepalive("unknown", KeepAlive())
    harness.service.leave_host(info.host_id)
    harness.service.leave_host(info.host_id)  # leaving twice is fine
    with pytest.raises(errors.NotFound):
        harness.service.keepalive(info.host_id, KeepAlive())
    with pytest.raises(errors.InvalidInput):
        harness.service.register_host(RegisterHost(host=info.model_copy(update={"host_id": ""})))
    assert harness.counter("hosts", type="normal") == 0


async def test_announce_checks_its_input(harness: Harness) -> None:
    with pytest.raises(errors.NotFound):
        await harness.announce("p", "unknown-host")
    host = harness.register("a")
    bad = AnnouncePeer(peer_id="p", host_id=host, task=spec().model_copy(update={"task_id": "x"}))
    with pytest.raises(errors.InvalidInput):
        await harness.service.announce(bad)
    with pytest.raises(errors.InvalidInput):
        await harness.announce("", host)


async def test_without_seeds_one_peer_goes_to_the_source_and_the_rest_follow_it(
    harness: Harness,
) -> None:
    hosts = [harness.register(f"h{index}") for index in range(4)]
    first = await harness.announce("p0", hosts[0])
    assert (first.action, first.reason) == (Action.BACK_TO_SOURCE, "no seed peer")
    for index in (1, 2, 3):
        later = await harness.announce(f"p{index}", hosts[index])
        assert later.action is Action.PARENTS and _ids(later) == ["p0"]
    harness.service.report_pieces("p1", ReportPieces(pieces=[0, 1], content_length=9 << 20))
    fifth = await harness.announce("p4", harness.register("h4"))
    assert set(_ids(fifth)) == {"p0", "p1"} and fifth.content_length == 9 << 20
    assert harness.counter("back_to_source_total", reason="no seed peer") == 1
    assert harness.counter("announces_total", action="parents") == 4
    assert harness.seeds.orders == []


async def test_a_peer_may_ask_for_the_source(harness: Harness) -> None:
    harness.register("s", seed=True)
    answer = await harness.announce("p", harness.register("a"), asked=True)
    assert (answer.action, answer.reason) == (Action.BACK_TO_SOURCE, "requested by the peer")
    assert harness.seeds.orders == []


async def test_concurrent_announces_order_one_seed_and_follow_it(harness: Harness) -> None:
    seed_host = harness.register("s", seed=True)
    harness.seeds.release.clear()
    hosts = [harness.register(f"h{index}") for index in range(3)]
    announces = [
        asyncio.create_task(harness.announce(f"p{index}", host)) for index, host in enumerate(hosts)
    ]
    await harness.seeds.reached.wait()
    harness.seeds.release.set()
    answers = await asyncio.gather(*announces)
    assert len(harness.seeds.orders) == 1
    seed_peer = harness.seeds.orders[0][1].peer_id
    for answer in answers:
        assert answer.action is Action.PARENTS and _ids(answer) == [seed_peer]
        assert answer.parents[0].is_seed and answer.parents[0].host_id == seed_host
    peer = harness.service.state.peers[seed_peer]
    assert peer.state is PeerState.BACK_TO_SOURCE
    # the seed peer reports under the order's peer ID; announcing, it is told to fetch, even
    # when another peer (not downloading from it) could serve
    harness.service.report_pieces(seed_peer, ReportPieces(pieces=[0]))
    other_host = harness.service.state.hosts[harness.register("other")]
    harness.service.state.add_peer("other", other_host, spec(), PeerState.SUCCEEDED)
    itself = await harness.announce(seed_peer, seed_host)
    assert (itself.action, itself.reason) == (
        Action.BACK_TO_SOURCE,
        "already fetching from the source",
    )
    assert harness.counter("seed_orders_total", outcome="accepted") == 1


async def test_when_every_seed_refuses_one_peer_goes_to_the_source(harness: Harness) -> None:
    for name in ("s1", "s2"):
        harness.register(name, seed=True)
        harness.seeds.refuse[host_info(name, seed=True).ip] = errors.Unavailable("down")
    harness.seeds.release.clear()
    hosts = [harness.register(f"h{index}") for index in range(3)]
    announces = [
        asyncio.create_task(harness.announce(f"p{index}", host)) for index, host in enumerate(hosts)
    ]
    await harness.seeds.reached.wait()
    harness.seeds.release.set()
    answers = await asyncio.gather(*announces)
    assert len(harness.seeds.orders) == 2  # each seed once, not once per peer
    actions = [answer.action for answer in answers]
    assert actions.count(Action.BACK_TO_SOURCE) == 1
    source = answers[actions.index(Action.BACK_TO_SOURCE)]
    assert source.reason == "seed order failed"
    source_peer = f"p{actions.index(Action.BACK_TO_SOURCE)}"
    for answer in answers:
        if answer.action is Action.PARENTS:
            assert _ids(answer) == [source_peer]


async def test_a_silent_seed_is_not_ordered(harness: Harness) -> None:
    harness.register("s", seed=True)
    harness.clock.advance(31)
    answer = await harness.announce("p", harness.register("a"))
    assert (answer.action, answer.reason) == (Action.BACK_TO_SOURCE, "no seed peer")
    assert harness.seeds.orders == []


async def test_a_seed_host_is_not_ordered_for_its_own_peer(harness: Harness) -> None:
    seed_host = harness.register("s", seed=True)
    answer = await harness.announce("p", seed_host)
    assert (answer.action, answer.reason) == (Action.BACK_TO_SOURCE, "no seed peer")


async def test_reschedule_blocklists_bad_parents(harness: Harness) -> None:
    hosts = [harness.register(f"h{index}") for index in range(4)]
    await harness.announce("source", hosts[0])
    for index in (1, 2):
        await harness.announce(f"p{index}", hosts[index])
        harness.service.report_pieces(f"p{index}", ReportPieces(pieces=[0]))
    child = await harness.announce("child", hosts[3])
    assert set(_ids(child)) == {"source", "p1", "p2"}
    bad = Reschedule(bad_parents=[BadParent(peer_id="p1", reason="corrupt")])
    again = await harness.service.reschedule("child", bad)
    assert set(_ids(again)) == {"source", "p2"}
    assert harness.service.state.peers["p1"].host.reported_failures == 1
    worse = Reschedule(bad_parents=[BadParent(peer_id=p, reason="slow") for p in ("source", "p2")])
    last = await harness.service.reschedule("child", worse)
    assert (last.action, last.reason) == (Action.BACK_TO_SOURCE, "no usable parent")
    assert harness.counter("bad_parents_total", reason="slow") == 2
    assert harness.counter("bad_parents_total", reason="corrupt") == 1
    odd = Reschedule(bad_parents=[BadParent(peer_id="p1", reason="made-up reason 42")])
    await harness.service.reschedule("child", odd)
    assert harness.counter("bad_parents_total", reason="other") == 1  # labels stay bounded
    other = await harness.announce("other", harness.register("h5"))
    assert "p1" in _ids(other)  # blocklisted for that child only
    with pytest.raises(errors.NotFound):
        await harness.service.reschedule("nobody", Reschedule())


async def test_a_peer_asking_for_more_parents_gets_new_ones_only(harness: Harness) -> None:
    seed_host = harness.register("s", seed=True)
    hosts = [harness.register(f"h{index}") for index in range(4)]
    first = await harness.announce("a", hosts[0])
    (seed,) = _ids(first)  # together at the start: only the seed peer holds anything
    for name, host in (("b", hosts[1]), ("c", hosts[2])):
        assert _ids(await harness.announce(name, host)) == [seed]
    for name in ("b", "c"):
        harness.service.report_pieces(name, ReportPieces(pieces=[0]))
    more = Reschedule(current_parents=[seed])
    assert set(_ids(await harness.service.reschedule("a", more))) == {"b", "c"}
    # b may take a as a parent although a downloads from b: they trade pieces
    harness.service.report_pieces("a", ReportPieces(pieces=[1]))
    assert "a" in _ids(await harness.service.reschedule("b", more))
    # nothing new to give: an empty answer, not the source, and the parents are kept
    again = await harness.service.reschedule("a", Reschedule(current_parents=[seed, "b", "c"]))
    assert (again.action, again.parents) == (Action.PARENTS, [])
    assert harness.service.state.peers["a"].parents == {seed, "b", "c"}
    assert harness.service.state.peers["a"].state is PeerState.RUNNING
    # a bad parent reported on the way is blocklisted and dropped from the kept ones
    bad = Reschedule(
        bad_parents=[BadParent(peer_id="c", reason="slow")], current_parents=[seed, "c"]
    )
    assert _ids(await harness.service.reschedule("a", bad)) == ["b"]
    assert harness.service.state.peers["a"].parents == {seed, "b"}
    assert harness.service.state.peers[seed].host.host_id == seed_host


async def test_a_peer_that_keeps_no_anchor_is_given_one(harness: Harness) -> None:
    hosts = [harness.register(f"h{index}") for index in range(7)]
    await harness.announce("source", hosts[0], asked=True)  # fetching from the source
    for index in range(1, 6):
        await harness.announce(f"p{index}", hosts[index])
        harness.service.report_pieces(f"p{index}", ReportPieces(pieces=range(index + 1)))
    await harness.announce("child", hosts[6])
    peers_only = Reschedule(current_parents=["p1"])
    answer = await harness.service.reschedule("child", peers_only)
    assert len(answer.parents) == 4 and "source" in _ids(answer)


async def test_results_and_leaving(harness: Harness) -> None:
    hosts = [harness.register(f"h{index}") for index in range(3)]
    await harness.announce("source", hosts[0])
    harness.service.report_result(
        "source", ReportResult(success=True, content_length=10, piece_length=4 << 20)
    )
    follower = await harness.announce("follower", hosts[1])
    assert follower.parents[0].is_complete
    assert (follower.content_length, follower.piece_length) == (10, 4 << 20)
    with pytest.raises(errors.Conflict):
        await harness.announce("source", hosts[0])
    harness.service.report_result("follower", ReportResult(success=False, error="disk full"))
    harness.service.leave_peer("source")
    harness.service.leave_peer("source")
    # the failed follower is no parent: the next peer goes to the source
    third = await harness.announce("third", hosts[2])
    assert (third.action, third.reason) == (Action.BACK_TO_SOURCE, "no seed peer")
    assert harness.counter("peer_results_total", outcome="failed") == 1
    with pytest.raises(errors.NotFound):
        harness.service.report_pieces("source", ReportPieces(pieces=[1]))


async def test_gauges_read_the_state(harness: Harness) -> None:
    harness.register("s", seed=True)
    host = harness.register("a")
    await harness.announce("p", host, asked=True)
    assert harness.counter("hosts", type="seed") == 1
    assert harness.counter("hosts", type="normal") == 1
    assert harness.counter("peers") == 1 and harness.counter("tasks") == 1
