"""Which piece a download fetches next, and from whom (``SwarmState.next_job``)."""

from __future__ import annotations

import random

from swarmfly.daemon.first_copies import FirstCopies
from swarmfly.daemon.swarm import PEER_IN_FLIGHT, SEED_IN_FLIGHT, ParentState, SwarmState
from swarmfly.wire.scheduler import Parent
from tests.unit.scheduler.sample import FakeClock


def _parent(name: str, *, seed: bool = False) -> ParentState:
    info = Parent(
        peer_id=name, host_id=f"host-{name}", ip="10.0.0.1", upload_port=4000, is_seed=seed
    )
    return ParentState(info)


def _state(piece_count: int, *parents: ParentState) -> SwarmState:
    state = SwarmState(parents={p.info.peer_id: p for p in parents}, start_fraction=0.0)
    state.piece_count = piece_count
    return state


def _holds(state: SwarmState, parent: ParentState, pieces: range | list[int]) -> None:
    state.update(parent, {number: "d" for number in pieces})


def test_pieces_only_the_seed_holds_come_first_one_at_a_time_while_peers_are_live() -> None:
    seed, peer = _parent("seed", seed=True), _parent("peer")
    state = _state(8, seed, peer)
    _holds(state, seed, range(8))
    _holds(state, peer, [0, 1, 2])
    assert state.next_job(0) == (3, seed)  # nobody else has 3
    state.in_progress.add(3)
    seed.in_flight = SEED_IN_FLIGHT
    assert state.next_job(0) == (0, peer)  # the seed is busy enough: a piece a peer has
    state.drop(peer)
    assert state.next_job(0) == (0, seed)  # the seed alone: no limit


def test_the_rarest_of_the_pieces_peers_hold_first() -> None:
    a, b, c = _parent("a"), _parent("b"), _parent("c")
    state = _state(4, a, b, c)
    _holds(state, a, [0, 1, 2])
    _holds(state, b, [0, 1])
    _holds(state, c, [0])
    assert state.next_job(0) == (2, a)
    state.have.add(2)
    assert state.next_job(0) == (1, a)
    a.in_flight = 1
    assert state.next_job(0) == (1, b)  # the least busy holder
    state.drop(b)
    assert state.peer_holders == {0: 2, 1: 1, 2: 1}


def test_no_parent_gets_more_than_a_few_of_the_requests() -> None:
    # a peer that holds what the others lack (it finished first) would get every worker
    ahead, behind = _parent("ahead"), _parent("behind")
    state = _state(8, ahead, behind)
    _holds(state, ahead, range(8))
    _holds(state, behind, [7])
    for _ in range(PEER_IN_FLIGHT):
        number, parent = state.next_job(0) or (None, None)
        assert parent is ahead
        state.in_progress.add(number)
        ahead.in_flight += 1
    assert state.next_job(0) == (7, behind)
    state.in_progress.add(7)
    behind.in_flight += 1
    assert state.next_job(0) is None


def test_a_refused_piece_is_taken_elsewhere_until_the_refusal_lapses() -> None:
    seed = _parent("seed", seed=True)
    state = _state(2, seed)
    _holds(state, seed, range(2))
    seed.refused[0] = 5.0
    assert state.next_job(1.0) == (1, seed)
    state.in_progress.add(1)
    assert state.next_job(1.0) is None
    assert state.next_job(5.0) == (0, seed)


def test_peers_in_cycles_all_finish_and_the_seed_sends_each_piece_about_once() -> None:
    """Four peers, each a parent of the three others (cycles everywhere) and all children of
    one seed peer that gains a piece a second, as it would fetching from the source. Each
    step, every peer fetches two pieces, which others see the next step. Nobody waits on a
    cycle: every peer finishes, soon after the seed peer, which sends most pieces once."""
    pieces, names = 24, ["a", "b", "c", "d"]
    clock = FakeClock(0.0)
    copies = FirstCopies(grace=3.0, clock=clock)
    rng = random.Random(4)
    views = {
        child: {
            name: _parent(name, seed=name == "seed") for name in ["seed", *names] if name != child
        }
        for child in names
    }
    states = {
        child: SwarmState(parents=views[child], start_fraction=rng.random()) for child in names
    }
    seed_has: set[int] = set()
    seed_copies = 0
    for step in range(60):
        if all(state.finished() for state in states.values()):
            break
        seed_has.add(min(step, pieces - 1))
        for child, state in states.items():
            state.piece_count = pieces
            for name, parent in views[child].items():
                held = seed_has if name == "seed" else states[name].have
                state.update(parent, {number: "d" for number in held})
        landed: list[tuple[SwarmState, int]] = []
        for state in [state for state in states.values() for _ in range(2)]:
            job = state.next_job(clock())
            if job is None:
                continue
            number, parent = job
            if parent.info.is_seed:
                wait = copies.refusal("t", number)
                if wait > 0:
                    parent.refused[number] = clock() + wait
                    continue
                with copies.sending("t", number):
                    seed_copies += 1
            state.in_progress.add(number)
            landed.append((state, number))
        for state, number in landed:
            state.in_progress.discard(number)
            state.have.add(number)
        clock.advance(1.0)
    assert all(state.finished() for state in states.values()), {
        name: len(state.have) for name, state in states.items()
    }
    assert step <= pieces + 4  # the seed peer's last piece lands at step pieces - 1
    assert seed_copies <= pieces + pieces // 4
