"""Whom a peer downloads from: filter the task's peers, score the rest, keep the best few.

Pure functions over the scheduler's state. The filter drops a candidate that is the peer
itself, on the same host, on a host that stopped sending keepalives, failed, holds nothing it
could serve yet (no pieces, not a seed peer, not complete and not fetching from the source),
blocklisted by this peer, or downloading from this peer (a parent is never a descendant, so
the parent graph has no cycles). At most ``filterParentLimit`` candidates pass, seed peers
considered first and the rest in random order (so equal peers share the load); each gets a
score in 0..1, a weighted sum in the manner of Dragonfly's default evaluator:

=================  ======  ==============================================================
finished pieces    0.20    how far ahead of the peer the candidate is
upload success     0.20    the host's successful uploads, less the failures children reported
free upload slots  0.15    idle piece servers first
host type          0.15    a seed peer while it is still downloading, then normal peers,
                           then finished seed peers (spare the seeds once others hold it)
idc                0.15    same data centre
location           0.15    longest common ``country|province|city|…`` prefix
=================  ======  ==============================================================

and the best ``candidateParentLimit`` are returned, best first.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from enum import StrEnum

from swarmfly.config import SchedulingConfig
from swarmfly.scheduler.state import Peer, PeerState

FINISHED_PIECES_WEIGHT = 0.20
UPLOAD_SUCCESS_WEIGHT = 0.20
FREE_UPLOAD_WEIGHT = 0.15
HOST_TYPE_WEIGHT = 0.15
IDC_WEIGHT = 0.15
LOCATION_WEIGHT = 0.15

#: Elements of a location compared at most (``country|province|city|zone|rack``).
MAX_LOCATION_ELEMENTS = 5


class Rejection(StrEnum):
    """Why a peer cannot be a candidate's parent (the filter's rules, in the order checked)."""

    ITSELF = "itself"
    SAME_HOST = "same_host"
    HOST_GONE = "host_gone"
    FAILED = "failed"
    NOTHING_TO_SERVE = "nothing_to_serve"
    BLOCKLISTED = "blocklisted"
    DESCENDANT = "descendant"


def can_serve(peer: Peer) -> bool:
    """Whether a peer has, or will soon have, pieces another peer can follow."""
    if peer.state is PeerState.FAILED:
        return False
    return bool(
        peer.pieces or peer.is_seed or peer.state in (PeerState.SUCCEEDED, PeerState.BACK_TO_SOURCE)
    )


def rejection(
    child: Peer,
    candidate: Peer,
    *,
    descendants: set[str],
    now: float,
    host_ttl: float,
) -> Rejection | None:
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
    if candidate.peer_id in descendants:
        return Rejection.DESCENDANT
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


def score(child: Peer, candidate: Peer, piece_count: int) -> float:
    """A parent's score for ``child`` in 0..1; higher is better."""
    return (
        FINISHED_PIECES_WEIGHT * finished_pieces_score(child, candidate, piece_count)
        + UPLOAD_SUCCESS_WEIGHT * upload_success_score(candidate)
        + FREE_UPLOAD_WEIGHT * free_upload_score(candidate)
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


def select_parents(
    child: Peer,
    peers: Iterable[Peer],
    *,
    descendants: set[str],
    piece_count: int | None,
    now: float,
    host_ttl: float,
    limits: SchedulingConfig,
    rng: random.Random,
) -> list[Peer]:
    """The best parents for ``child`` among its task's ``peers``, best first (maybe none)."""
    passed: list[Peer] = []
    for candidate in _sample_order(list(peers), rng):
        if rejection(child, candidate, descendants=descendants, now=now, host_ttl=host_ttl):
            continue
        passed.append(candidate)
        if len(passed) == limits.filter_parent_limit:
            break
    if not passed:
        return []
    count = piece_count or max(peer.finished_pieces for peer in passed)
    ranked = sorted(
        passed,
        key=lambda peer: (score(child, peer, count), peer.finished_pieces),
        reverse=True,
    )
    return ranked[: limits.candidate_parent_limit]
