"""Whom a peer downloads from: filter the task's peers, score the rest, keep the best few.

Pure functions over the scheduler's state. The filter drops a candidate that is the peer
itself, on the same host, on a host that stopped sending keepalives, failed, holds nothing it
could serve yet (no pieces, not a seed peer, not complete and not fetching from the source),
blocklisted by this peer, or already one of its parents (a peer asking for more parents gets
new ones). At most ``filterParentLimit`` candidates pass, seed peers considered first and the
rest in random order (so equal peers share the load); each gets a score in 0..1, a weighted
sum in the manner of Dragonfly's default evaluator:

=================  ======  ==============================================================
finished pieces    0.15    how far ahead of the peer the candidate is
upload success     0.20    the host's successful uploads, less the failures children reported
free upload slots  0.10    idle piece servers first
children           0.10    fewest children in this task (the host's load is a keepalive old)
host type          0.15    a seed peer while it is still downloading, then normal peers,
                           then finished seed peers (spare the seeds once others hold it)
idc                0.15    same data centre
location           0.15    longest common ``country|province|city|…`` prefix
=================  ======  ==============================================================

and the best ``candidateParentLimit`` are returned, best first, with one *anchor* among them
(a seed peer, or a peer that is complete or fetching from the source) unless the peer already
has one.

Cycles are allowed. Dragonfly (and issue #4 at first) keeps the parent graph acyclic, as if a
child waited for its parent's whole download; but a child asks a parent only for pieces the
parent lists as finished, so a cycle is two peers trading pieces, BitTorrent's exchange, and
nobody waits on anybody. What a download does need is a way to every piece: the anchor. It
gets pieces from the source (or has them all), whatever its own parents do, so a peer whose
other parents are all waiting on one another still progresses through it. Without cycles, peers
that start together form a chain behind the first to ask again, and the last of them has only
the seed (issue #4's benchmark measured that: the seed served 80% of all bytes).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from enum import StrEnum

from swarmfly.config import SchedulingConfig
from swarmfly.scheduler.state import Peer, PeerState

FINISHED_PIECES_WEIGHT = 0.15
UPLOAD_SUCCESS_WEIGHT = 0.20
FREE_UPLOAD_WEIGHT = 0.10
CHILDREN_WEIGHT = 0.10
HOST_TYPE_WEIGHT = 0.15
IDC_WEIGHT = 0.15
LOCATION_WEIGHT = 0.15

#: Elements of a location compared at most (``country|province|city|zone|rack``).
MAX_LOCATION_ELEMENTS = 5
#: Children in one task at which a candidate's ``children`` score reaches 0.
MAX_CHILDREN = 16


class Rejection(StrEnum):
    """Why a peer cannot be a candidate's parent (the filter's rules, in the order checked)."""

    ITSELF = "itself"
    SAME_HOST = "same_host"
    HOST_GONE = "host_gone"
    FAILED = "failed"
    NOTHING_TO_SERVE = "nothing_to_serve"
    BLOCKLISTED = "blocklisted"
    ALREADY_PARENT = "already_parent"


def can_serve(peer: Peer) -> bool:
    """Whether a peer has, or will soon have, pieces another peer can follow."""
    if peer.state is PeerState.FAILED:
        return False
    return bool(
        peer.pieces or peer.is_seed or peer.state in (PeerState.SUCCEEDED, PeerState.BACK_TO_SOURCE)
    )


def is_anchor(peer: Peer) -> bool:
    """Whether a peer gets every piece whatever its own parents do: a seed peer, or a peer that
    is complete or fetching from the source."""
    return peer.is_seed or peer.state in (PeerState.SUCCEEDED, PeerState.BACK_TO_SOURCE)


def rejection(child: Peer, candidate: Peer, *, now: float, host_ttl: float) -> Rejection | None:
    """The first filter rule ``candidate`` breaks as a parent for ``child``; None if it passes."""
    if candidate.peer_id == child.peer_id:
        return Rejection.ITSELF
    if candidate.host.host_id == child.host.host_id:
        return Rejection.SAME_HOST
    if not candidate.host.is_alive(now, host_ttl):
        return Rejection.HOST_GONE
    if candidate.state is PeerState.FAILED:
        return Rejection.FAILED
    if not can_serve(candidate):
        return Rejection.NOTHING_TO_SERVE
    if candidate.peer_id in child.blocklist:
        return Rejection.BLOCKLISTED
    if candidate.peer_id in child.parents:
        return Rejection.ALREADY_PARENT
    return None


def free_upload_score(candidate: Peer) -> float:
    load = candidate.host.load
    if load.upload_slots <= 0:
        return 0.0
    return max(0.0, min(1.0, (load.upload_slots - load.active_uploads) / load.upload_slots))


def upload_success_score(candidate: Peer) -> float:
    host = candidate.host
    successes = host.load.upload_successes
    attempts = successes + host.load.upload_failures + host.reported_failures
    return 1.0 if attempts == 0 else successes / attempts


def children_score(children: int) -> float:
    """Fewer children in this task first: peers that ask together are spread over parents."""
    return max(0.0, 1.0 - children / MAX_CHILDREN)


def host_type_score(candidate: Peer) -> float:
    if not candidate.is_seed:
        return 0.5
    return 1.0 if candidate.is_downloading else 0.0


def idc_score(child: Peer, candidate: Peer) -> float:
    idc = child.host.info.idc
    return 1.0 if idc and idc == candidate.host.info.idc else 0.0


def location_score(child: Peer, candidate: Peer) -> float:
    mine = child.host.info.location
    theirs = candidate.host.info.location
    if not mine or not theirs:
        return 0.0
    common = 0
    for a, b in zip(mine.split("|"), theirs.split("|"), strict=False):
        if a != b or common == MAX_LOCATION_ELEMENTS:
            break
        common += 1
    return common / MAX_LOCATION_ELEMENTS


def finished_pieces_score(child: Peer, candidate: Peer, piece_count: int) -> float:
    """How far ahead ``candidate`` is, as a share of the task (a complete one scores 1)."""
    if candidate.is_complete:
        return 1.0
    ahead = candidate.finished_pieces - child.finished_pieces
    return max(0.0, min(1.0, ahead / max(1, piece_count)))


def score(child: Peer, candidate: Peer, piece_count: int, children: int = 0) -> float:
    """A parent's score for ``child`` in 0..1, ``children`` being the candidate's children in
    the task; higher is better."""
    return (
        FINISHED_PIECES_WEIGHT * finished_pieces_score(child, candidate, piece_count)
        + UPLOAD_SUCCESS_WEIGHT * upload_success_score(candidate)
        + FREE_UPLOAD_WEIGHT * free_upload_score(candidate)
        + CHILDREN_WEIGHT * children_score(children)
        + HOST_TYPE_WEIGHT * host_type_score(candidate)
        + IDC_WEIGHT * idc_score(child, candidate)
        + LOCATION_WEIGHT * location_score(child, candidate)
    )


def _sample_order(peers: Iterable[Peer], rng: random.Random) -> list[Peer]:
    """Seed peers first, the rest shuffled."""
    seeds = [peer for peer in peers if peer.is_seed]
    others = [peer for peer in peers if not peer.is_seed]
    rng.shuffle(others)
    return seeds + others


def children_counts(peers: Iterable[Peer]) -> dict[str, int]:
    """How many peers of a task download from each peer (by peer ID)."""
    counts: dict[str, int] = {}
    for peer in peers:
        for parent_id in peer.parents:
            counts[parent_id] = counts.get(parent_id, 0) + 1
    return counts


def select_parents(
    child: Peer,
    peers: Iterable[Peer],
    *,
    anchored: bool,
    piece_count: int | None,
    now: float,
    host_ttl: float,
    limits: SchedulingConfig,
    rng: random.Random,
) -> list[Peer]:
    """The best parents for ``child`` among its task's ``peers``, best first (maybe none).

    Unless ``anchored`` (the child keeps an anchor among its parents), an anchor that passed
    the filter is among those returned, in the last place if it did not rank there itself.
    """
    peers = list(peers)
    passed: list[Peer] = []
    for candidate in _sample_order(peers, rng):
        if rejection(child, candidate, now=now, host_ttl=host_ttl):
            continue
        passed.append(candidate)
        if len(passed) == limits.filter_parent_limit:
            break
    if not passed:
        return []
    count = piece_count or max(peer.finished_pieces for peer in passed)
    children = children_counts(peers)
    ranked = sorted(
        passed,
        key=lambda peer: (
            score(child, peer, count, children.get(peer.peer_id, 0)),
            peer.finished_pieces,
        ),
        reverse=True,
    )
    chosen = ranked[: limits.candidate_parent_limit]
    if not anchored and not any(is_anchor(peer) for peer in chosen):
        anchor = next((peer for peer in ranked if is_anchor(peer)), None)
        if anchor is not None:
            chosen[-1] = anchor
    return chosen
