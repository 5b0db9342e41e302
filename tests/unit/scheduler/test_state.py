"""The scheduler's bookkeeping: hosts, peers and tasks, and each named transition."""

from __future__ import annotations

import pytest

from swarmfly.scheduler.errors import HostNotFound, PeerConflict, PeerNotFound
from swarmfly.scheduler.state import PeerState
from swarmfly.wire.scheduler import HostLoad, ReportPieces, ReportResult
from tests.unit.scheduler.sample import TTL, World, host_info, spec


def test_a_host_registers_keeps_alive_and_leaves() -> None:
    world = World()
    host = world.host("a")
    world.clock.advance(5)
    world.state.keep_alive(host.host_id, HostLoad(active_uploads=7), world.clock())
    assert host.last_seen == world.clock() and host.load.active_uploads == 7
    with pytest.raises(HostNotFound):
        world.state.keep_alive("nobody", HostLoad(), world.clock())
    peer = world.peer("p", host)
    assert world.state.remove_host(host.host_id) == [peer]
    assert world.state.remove_host(host.host_id) is None
    assert not world.state.peers and not world.state.tasks


def test_registering_again_keeps_finished_peers_only() -> None:
    world = World()
    host = world.host("a")
    done = world.peer("done", host, state=PeerState.SUCCEEDED, pieces=[0])
    running = world.peer("running", host, state=PeerState.RUNNING, pieces=[0])
    other = world.peer("other", state=PeerState.RUNNING, parents=[running])
    dropped = world.state.register_host(host_info("a", port=5000), world.clock())
    assert dropped == [running]
    assert set(world.state.peers) == {"done", "other"}
    assert host.info.upload_port == 5000 and host.peer_ids == {"done"}
    assert other.parents == set()  # the dropped peer is nobody's parent any more
    assert done.state is PeerState.SUCCEEDED


def test_announce_is_idempotent_and_a_peer_id_names_one_task_on_one_host() -> None:
    world = World()
    host = world.host("a")
    peer = world.state.announce("p", host, spec("t"))
    assert world.state.announce("p", host, spec("t")) is peer
    with pytest.raises(PeerConflict):
        world.state.announce("p", host, spec("other"))
    with pytest.raises(PeerConflict):
        world.state.announce("p", world.host("b"), spec("t"))
    with pytest.raises(PeerNotFound):
        world.state.peer("nobody")


def test_the_last_peer_to_leave_takes_the_task_along() -> None:
    world = World()
    first = world.peer("first", state=PeerState.BACK_TO_SOURCE)
    second = world.peer("second", state=PeerState.RUNNING, parents=[first])
    task_id = first.task_id
    assert world.state.remove_peer("first") is first
    assert second.parents == set()
    assert task_id in world.state.tasks
    world.state.remove_peer("second")
    assert task_id not in world.state.tasks
    assert world.state.remove_peer("second") is None


def test_pieces_and_layout_are_recorded() -> None:
    world = World()
    source = world.peer("source", state=PeerState.BACK_TO_SOURCE)
    peer = world.peer("p", state=PeerState.RUNNING)
    report = ReportPieces(pieces=[0, 2], content_length=10 << 20, piece_length=4 << 20)
    world.state.record_pieces("p", report.model_copy(update={"parent_id": "source"}))
    world.state.record_pieces("p", ReportPieces(pieces=[2, 1], parent_id="gone"))
    assert peer.pieces == {0, 1, 2} and peer.finished_pieces == 3
    assert peer.parents == {source.peer_id}  # an unknown parent makes no edge
    task = world.state.task_of(peer)
    assert (task.content_length, task.piece_length, task.piece_count) == (10 << 20, 4 << 20, 3)


def test_transitions() -> None:
    world = World()
    parent = world.peer("parent", state=PeerState.SUCCEEDED)
    peer = world.peer("p")
    world.state.assign_parents(peer, [parent])
    assert (peer.state, peer.parents) == (PeerState.RUNNING, {"parent"})
    world.state.go_back_to_source(peer)
    assert (peer.state, peer.parents) == (PeerState.BACK_TO_SOURCE, set())
    world.state.finish(peer, ReportResult(success=False, error="disk"))
    assert peer.state is PeerState.FAILED and not peer.is_downloading
    world.state.finish(peer, ReportResult(success=True, content_length=5))
    assert peer.is_complete and world.state.task_of(peer).content_length == 5
    with pytest.raises(PeerConflict):
        world.state.assign_parents(peer, [parent])
    with pytest.raises(PeerConflict):
        world.state.go_back_to_source(peer)


def test_blocking_a_parent_counts_against_its_host() -> None:
    world = World()
    bad = world.peer("bad", state=PeerState.SUCCEEDED)
    peer = world.peer("p", state=PeerState.RUNNING, parents=[bad])
    assert world.state.block_parents(peer, ["bad", "unknown", "p"]) == [bad]
    assert peer.blocklist == {"bad", "unknown", "p"} and peer.parents == set()
    assert bad.host.reported_failures == 1


def test_a_peer_keeps_some_parents_and_adds_others() -> None:
    world = World()
    kept = world.peer("kept", state=PeerState.SUCCEEDED)
    blocked = world.peer("blocked", state=PeerState.RUNNING, pieces=[0])
    new = world.peer("new", state=PeerState.RUNNING, pieces=[1])
    peer = world.peer("p", state=PeerState.RUNNING, parents=[kept, blocked])
    peer.blocklist.add("blocked")
    assert world.state.keep_parents(peer, ["kept", "blocked", "gone"]) == [kept]
    assert peer.parents == {"kept"}
    world.state.add_parents(peer, [new])
    assert peer.parents == {"kept", "new"}
    world.state.add_parents(new, [peer])  # each the other's parent: allowed
    assert new.parents == {"p"}
    world.state.finish(peer, ReportResult(success=True))
    with pytest.raises(PeerConflict):
        world.state.keep_parents(peer, ["kept"])


def test_expired_hosts_oldest_first() -> None:
    world = World()
    old = world.host("old")
    world.clock.advance(10)
    newer = world.host("newer")
    world.clock.advance(TTL)
    fresh = world.host("fresh")
    assert world.state.expired_hosts(world.clock(), TTL) == [old]
    world.clock.advance(10.5)
    assert world.state.expired_hosts(world.clock(), TTL) == [old, newer]
    assert fresh.is_alive(world.clock(), TTL)
