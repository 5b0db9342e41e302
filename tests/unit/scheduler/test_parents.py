"""Parent choice: every filter rule, the order scores put candidates in, the limits, affinity."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from swarmfly.config import SchedulingConfig
from swarmfly.scheduler.parents import (
    Rejection,
    children_counts,
    host_type_score,
    location_score,
    rejection,
    score,
    select_parents,
)
from swarmfly.scheduler.state import Peer, PeerState
from swarmfly.wire.scheduler import HostLoad
from tests.unit.scheduler.sample import TTL, World

Setup = Callable[[World, Peer], Peer]


def _itself(world: World, child: Peer) -> Peer:
    return child


def _same_host(world: World, child: Peer) -> Peer:
    return world.peer("c", child.host, state=PeerState.SUCCEEDED)


def _silent_host(world: World, child: Peer) -> Peer:
    candidate = world.peer("c", state=PeerState.SUCCEEDED)
    candidate.host.last_seen -= TTL + 1
    return candidate


def _failed_with_pieces(world: World, child: Peer) -> Peer:
    return world.peer("c", state=PeerState.FAILED, pieces=[0, 1])


def _failed_seed(world: World, child: Peer) -> Peer:
    return world.peer("c", world.host("s", seed=True), state=PeerState.FAILED)


def _pending_empty(world: World, child: Peer) -> Peer:
    return world.peer("c")


def _running_empty(world: World, child: Peer) -> Peer:
    return world.peer("c", state=PeerState.RUNNING)


def _running_with_pieces(world: World, child: Peer) -> Peer:
    return world.peer("c", state=PeerState.RUNNING, pieces=[3])


def _back_to_source_empty(world: World, child: Peer) -> Peer:
    return world.peer("c", state=PeerState.BACK_TO_SOURCE)


def _complete(world: World, child: Peer) -> Peer:
    return world.peer("c", state=PeerState.SUCCEEDED)


def _seed_pending_empty(world: World, child: Peer) -> Peer:
    return world.peer("c", world.host("s", seed=True))


def _blocklisted(world: World, child: Peer) -> Peer:
    child.blocklist.add("c")
    return world.peer("c", state=PeerState.SUCCEEDED)


def _child_of_child(world: World, child: Peer) -> Peer:
    return world.peer("c", state=PeerState.RUNNING, pieces=[0, 1, 2], parents=[child])


def _grandchild(world: World, child: Peer) -> Peer:
    middle = world.peer("m", state=PeerState.RUNNING, pieces=[0], parents=[child])
    return world.peer("c", state=PeerState.RUNNING, pieces=[0, 1], parents=[middle])


def _sibling(world: World, child: Peer) -> Peer:
    root = world.peer("root", state=PeerState.BACK_TO_SOURCE)
    child.parents.add(root.peer_id)
    return world.peer("c", state=PeerState.RUNNING, pieces=[0], parents=[root])


def _parent_of_child(world: World, child: Peer) -> Peer:
    candidate = world.peer("c", state=PeerState.RUNNING, pieces=[0])
    child.parents.add(candidate.peer_id)
    return candidate


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (_itself, Rejection.ITSELF),
        (_same_host, Rejection.SAME_HOST),
        (_silent_host, Rejection.HOST_GONE),
        (_failed_with_pieces, Rejection.FAILED),
        (_failed_seed, Rejection.FAILED),
        (_pending_empty, Rejection.NOTHING_TO_SERVE),
        (_running_empty, Rejection.NOTHING_TO_SERVE),
        (_blocklisted, Rejection.BLOCKLISTED),
        (_parent_of_child, Rejection.ALREADY_PARENT),
        (_child_of_child, None),
        (_grandchild, None),
        (_running_with_pieces, None),
        (_back_to_source_empty, None),
        (_complete, None),
        (_seed_pending_empty, None),
        (_sibling, None),
    ],
)
def test_filter(setup: Setup, expected: Rejection | None) -> None:
    world = World()
    child = world.peer("child", state=PeerState.RUNNING)
    candidate = setup(world, child)
    found = rejection(child, candidate, now=world.clock(), host_ttl=TTL)
    assert found == expected
    chosen = _select(world, child)
    assert (candidate in chosen) == (expected is None)


def _select(world: World, child: Peer, *, anchored: bool = True, **limits: int) -> list[Peer]:
    return select_parents(
        child,
        world.state.task_of(child).peers.values(),
        anchored=anchored,
        piece_count=world.state.task_of(child).piece_count,
        now=world.clock(),
        host_ttl=TTL,
        limits=SchedulingConfig(**limits),
        rng=random.Random(7),
    )


def test_two_peers_may_be_each_others_parents() -> None:
    # b downloads from a; a may download from b too: each asks the other only for pieces it
    # lists as finished, so neither waits on the other (see the module docstring)
    world = World()
    seed = world.peer("seed", world.host("s", seed=True), state=PeerState.BACK_TO_SOURCE)
    a = world.peer("a", state=PeerState.RUNNING, pieces=[0], parents=[seed])
    b = world.peer("b", state=PeerState.RUNNING, pieces=[1, 2], parents=[seed, a])
    assert _select(world, a) == [b]  # the seed it already has
    assert _select(world, b) == []


def test_an_anchor_is_among_the_parents_of_a_peer_that_has_none() -> None:
    world = World()
    child = world.peer("child", state=PeerState.RUNNING)
    # the one peer fetching from the source has landed nothing yet: it ranks last
    source = world.peer("source", state=PeerState.BACK_TO_SOURCE)
    for index in range(6):
        world.peer(f"p{index}", state=PeerState.RUNNING, pieces=range(10 + index))
    assert source not in _select(world, child, anchored=True)
    chosen = _select(world, child, anchored=False)
    assert len(chosen) == 4 and chosen[-1] is source
    assert [peer.peer_id for peer in chosen[:3]] == ["p5", "p4", "p3"]


# Each case makes two otherwise equal candidates differ in one thing; "better" must rank first.
def _more_pieces(world: World, better: Peer, worse: Peer) -> None:
    better.pieces.update(range(8))
    worse.pieces.update(range(2))


def _complete_beats_pieces(world: World, better: Peer, worse: Peer) -> None:
    better.state = PeerState.SUCCEEDED
    worse.pieces.update(range(8))
    better.pieces.update(range(8))


def _fewer_active_uploads(world: World, better: Peer, worse: Peer) -> None:
    _load(better, HostLoad(upload_slots=10, active_uploads=1))
    _load(worse, HostLoad(upload_slots=10, active_uploads=9))


def _upload_success(world: World, better: Peer, worse: Peer) -> None:
    _load(better, HostLoad(upload_successes=99, upload_failures=1))
    _load(worse, HostLoad(upload_successes=50, upload_failures=50))


def _reported_failures(world: World, better: Peer, worse: Peer) -> None:
    _load(better, HostLoad(upload_successes=10))
    _load(worse, HostLoad(upload_successes=10))
    worse.host.reported_failures = 5


def _same_idc(world: World, better: Peer, worse: Peer) -> None:
    _place(world, better, idc="idc-1")
    _place(world, worse, idc="idc-2")


def _longer_location_prefix(world: World, better: Peer, worse: Peer) -> None:
    _place(world, better, location="cn|zj|hz|a")
    _place(world, worse, location="cn|zj|nb|a")


def _location_over_nothing(world: World, better: Peer, worse: Peer) -> None:
    _place(world, better, location="cn")
    _place(world, worse, location="us|ca|sf")


def _fewer_children(world: World, better: Peer, worse: Peer) -> None:
    for index in range(3):
        world.peer(f"child-of-worse-{index}", state=PeerState.RUNNING, parents=[worse])


def _load(peer: Peer, load: HostLoad) -> None:
    peer.host.info = peer.host.info.model_copy(update={"load": load})


def _place(world: World, peer: Peer, *, idc: str = "", location: str = "") -> None:
    peer.host.info = peer.host.info.model_copy(update={"idc": idc, "location": location})


@pytest.mark.parametrize(
    "differ",
    [
        _more_pieces,
        _complete_beats_pieces,
        _fewer_active_uploads,
        _fewer_children,
        _upload_success,
        _reported_failures,
        _same_idc,
        _longer_location_prefix,
        _location_over_nothing,
    ],
)
def test_one_difference_decides_the_order(differ: Callable[[World, Peer, Peer], None]) -> None:
    world = World()
    child = world.peer("child", state=PeerState.RUNNING)
    child.host.info = child.host.info.model_copy(update={"idc": "idc-1", "location": "cn|zj|hz|a"})
    # the worse one first in insertion order and in name, so neither can win a tie for it
    worse = world.peer("a-worse", state=PeerState.RUNNING, pieces=[0])
    better = world.peer("z-better", state=PeerState.RUNNING, pieces=[0])
    differ(world, better, worse)
    children = children_counts(world.state.task_of(child).peers.values())
    assert score(child, better, 10, children.get(better.peer_id, 0)) > score(
        child, worse, 10, children.get(worse.peer_id, 0)
    )
    assert _select(world, child) == [better, worse]


def test_a_seed_leads_while_it_downloads_and_steps_back_once_complete() -> None:
    world = World()
    child = world.peer("child", state=PeerState.RUNNING)
    seed = world.peer(
        "seed", world.host("s", seed=True), state=PeerState.BACK_TO_SOURCE, pieces=[0, 1]
    )
    normal = world.peer("normal", state=PeerState.RUNNING, pieces=[0, 1])
    assert host_type_score(seed) == 1.0 and host_type_score(normal) == 0.5
    assert _select(world, child)[0] is seed
    seed.state = PeerState.SUCCEEDED
    normal.state = PeerState.SUCCEEDED
    assert host_type_score(seed) == 0.0
    assert _select(world, child) == [normal, seed]


@pytest.mark.parametrize(
    ("mine", "theirs", "expected"),
    [
        ("cn|zj|hz", "cn|zj|hz", 3 / 5),
        ("cn|zj|hz", "cn|zj|nb", 2 / 5),
        ("cn|zj|hz", "cn", 1 / 5),
        ("cn|zj|hz", "us|zj|hz", 0.0),
        ("a|b|c|d|e|f|g", "a|b|c|d|e|f|g", 1.0),
        ("", "", 0.0),
        ("cn", "", 0.0),
    ],
)
def test_location_affinity(mine: str, theirs: str, expected: float) -> None:
    world = World()
    child = world.peer("child", world.host("x", location=mine))
    candidate = world.peer("c", world.host("y", location=theirs))
    assert location_score(child, candidate) == pytest.approx(expected)


def test_limits() -> None:
    world = World()
    child = world.peer("child", state=PeerState.RUNNING)
    for index in range(12):
        world.peer(f"p{index:02}", state=PeerState.RUNNING, pieces=range(index + 1))
    chosen = _select(world, child)
    assert [peer.peer_id for peer in chosen] == ["p11", "p10", "p09", "p08"]  # 4 by default
    assert len(_select(world, child, candidate_parent_limit=2)) == 2
    sampled = _select(world, child, filter_parent_limit=3, candidate_parent_limit=10)
    assert len(sampled) == 3


def test_seed_peers_are_always_in_the_sample() -> None:
    world = World()
    child = world.peer("child", state=PeerState.RUNNING)
    for index in range(30):
        world.peer(f"p{index:02}", state=PeerState.SUCCEEDED)
    seed = world.peer("seed", world.host("s", seed=True), state=PeerState.BACK_TO_SOURCE)
    for rng_seed in range(20):
        chosen = select_parents(
            child,
            world.state.task_of(child).peers.values(),
            anchored=True,
            piece_count=None,
            now=world.clock(),
            host_ttl=TTL,
            limits=SchedulingConfig(filter_parent_limit=2),
            rng=random.Random(rng_seed),
        )
        assert len(chosen) == 2 and seed in chosen


def test_equal_peers_share_the_load() -> None:
    world = World()
    child = world.peer("child", state=PeerState.RUNNING)
    for index in range(20):
        world.peer(f"p{index:02}", state=PeerState.SUCCEEDED)
    firsts = {
        select_parents(
            child,
            world.state.task_of(child).peers.values(),
            anchored=True,
            piece_count=None,
            now=world.clock(),
            host_ttl=TTL,
            limits=SchedulingConfig(filter_parent_limit=5),
            rng=random.Random(rng_seed),
        )[0].peer_id
        for rng_seed in range(20)
    }
    assert len(firsts) > 5
