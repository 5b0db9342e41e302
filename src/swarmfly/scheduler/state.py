"""What the scheduler knows: hosts (load, last keepalive), tasks, and each task's peers (which
pieces they hold, whom they download from, where they are in their lifecycle).

Plain bookkeeping, no I/O and no clock of its own: callers pass ``now``. Each peer moves
through named transitions::

    PENDING ──assign_parents──▶ RUNNING ──finish──▶ SUCCEEDED | FAILED
       └──────go_back_to_source──▶ BACK_TO_SOURCE ──┘

A peer in ``BACK_TO_SOURCE`` (a seed peer following an order, or the one peer sent to the
source) can serve its pieces as they land, so it is a parent before it holds any. A finished or
failed peer has no parents: only peers still downloading have edges (two peers may be each
other's parents: see ``parents.py``). A task lives while it has peers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from swarmfly.scheduler.errors import HostNotFound, PeerConflict, PeerNotFound
from swarmfly.wire.scheduler import HostInfo, HostLoad, ReportPieces, ReportResult, TaskSpec


class PeerState(StrEnum):
    PENDING = "pending"  # announced, not yet told what to do
    RUNNING = "running"  # downloading from parents
    BACK_TO_SOURCE = "back_to_source"  # downloading from the source
    SUCCEEDED = "succeeded"  # holds the whole task
    FAILED = "failed"


@dataclass(eq=False)
class Host:
    info: HostInfo
    last_seen: float
    #: Times a child reported one of this host's peers as a bad parent (corrupt, failed, slow).
    reported_failures: int = 0
    peer_ids: set[str] = field(default_factory=set)

    @property
    def host_id(self) -> str:
        return self.info.host_id

    @property
    def load(self) -> HostLoad:
        return self.info.load

    @property
    def is_seed(self) -> bool:
        return self.info.is_seed

    def is_alive(self, now: float, ttl: float) -> bool:
        return now - self.last_seen <= ttl


@dataclass(eq=False)
class Peer:
    peer_id: str
    task_id: str
    host: Host
    state: PeerState = PeerState.PENDING
    pieces: set[int] = field(default_factory=set)
    parents: set[str] = field(default_factory=set)  # peer IDs it downloads from
    blocklist: set[str] = field(default_factory=set)  # peer IDs it must not be given again
    error: str = ""  # why it failed, as the peer reported it

    @property
    def is_seed(self) -> bool:
        return self.host.is_seed

    @property
    def is_complete(self) -> bool:
        return self.state is PeerState.SUCCEEDED

    @property
    def is_downloading(self) -> bool:
        return self.state in (PeerState.PENDING, PeerState.RUNNING, PeerState.BACK_TO_SOURCE)

    @property
    def finished_pieces(self) -> int:
        return len(self.pieces)


@dataclass(eq=False)
class Task:
    task_id: str
    spec: TaskSpec  # from the first announce: what a seed peer is told to fetch
    peers: dict[str, Peer] = field(default_factory=dict)
    content_length: int | None = None
    piece_length: int | None = None

    def __post_init__(self) -> None:
        self.piece_length = self.piece_length or self.spec.piece_length

    @property
    def piece_count(self) -> int | None:
        if self.content_length is None or not self.piece_length:
            return None
        return max(1, -(-self.content_length // self.piece_length))

    def learn_layout(self, content_length: int | None, piece_length: int | None) -> None:
        if content_length is not None:
            self.content_length = content_length
        if piece_length:
            self.piece_length = piece_length


class SchedulerState:
    """Every host, task and peer one scheduler knows, and the transitions between them."""

    def __init__(self) -> None:
        self.hosts: dict[str, Host] = {}
        self.tasks: dict[str, Task] = {}
        self.peers: dict[str, Peer] = {}
        #: Called with each peer that finishes or is forgotten (preheat waits on its seed peers).
        self.on_peer_done: Callable[[Peer], None] | None = None

    def host(self, host_id: str) -> Host:
        try:
            return self.hosts[host_id]
        except KeyError:
            raise HostNotFound(host_id) from None

    def peer(self, peer_id: str) -> Peer:
        try:
            return self.peers[peer_id]
        except KeyError:
            raise PeerNotFound(peer_id) from None

    def task_of(self, peer: Peer) -> Task:
        return self.tasks[peer.task_id]

    # hosts

    def register_host(self, info: HostInfo, now: float) -> list[Peer]:
        """Add or refresh a host; returns the unfinished peers dropped from its previous life.

        A known host registers again only when its daemon restarted (or was forgotten), so its
        downloads in progress died with the old process; its finished peers still hold content.
        """
        host = self.hosts.get(info.host_id)
        if host is None:
            self.hosts[info.host_id] = Host(info=info, last_seen=now)
            return []
        host.info, host.last_seen = info, now
        stale = [self.peers[p] for p in sorted(host.peer_ids) if not self.peers[p].is_complete]
        for peer in stale:
            self.remove_peer(peer.peer_id)
        return stale

    def keep_alive(self, host_id: str, load: HostLoad, now: float) -> Host:
        host = self.host(host_id)
        host.info = host.info.model_copy(update={"load": load})
        host.last_seen = now
        return host

    def remove_host(self, host_id: str) -> list[Peer] | None:
        """Forget a host and its peers; returns the peers forgotten, None if it was not known."""
        host = self.hosts.pop(host_id, None)
        if host is None:
            return None
        return [peer for p in sorted(host.peer_ids) if (peer := self.remove_peer(p)) is not None]

    def expired_hosts(self, now: float, ttl: float) -> list[Host]:
        """Hosts silent for longer than ``ttl``, oldest first."""
        silent = (host for host in self.hosts.values() if not host.is_alive(now, ttl))
        return sorted(silent, key=lambda host: host.last_seen)

    # peers

    def announce(self, peer_id: str, host: Host, spec: TaskSpec) -> Peer:
        """The peer for this announce: a new one, or the same peer announcing again."""
        peer = self.peers.get(peer_id)
        if peer is None:
            return self.add_peer(peer_id, host, spec)
        if peer.task_id != spec.task_id or peer.host is not host:
            raise PeerConflict(f"peer {peer_id!r} already belongs to another task or host")
        return peer

    def add_peer(
        self, peer_id: str, host: Host, spec: TaskSpec, state: PeerState = PeerState.PENDING
    ) -> Peer:
        if peer_id in self.peers:
            raise PeerConflict(f"peer {peer_id!r} exists")
        task = self.tasks.get(spec.task_id)
        if task is None:
            task = self.tasks[spec.task_id] = Task(task_id=spec.task_id, spec=spec)
        peer = Peer(peer_id=peer_id, task_id=spec.task_id, host=host, state=state)
        task.peers[peer_id] = peer
        host.peer_ids.add(peer_id)
        self.peers[peer_id] = peer
        return peer

    def remove_peer(self, peer_id: str) -> Peer | None:
        """Forget a peer (it stops being anyone's parent); its task goes with its last peer."""
        peer = self.peers.pop(peer_id, None)
        if peer is None:
            return None
        peer.host.peer_ids.discard(peer_id)
        task = self.tasks[peer.task_id]
        del task.peers[peer_id]
        for other in task.peers.values():
            other.parents.discard(peer_id)
        if not task.peers:
            del self.tasks[peer.task_id]
        if self.on_peer_done is not None:
            self.on_peer_done(peer)
        return peer

    def record_pieces(self, peer_id: str, report: ReportPieces) -> Peer:
        peer = self.peer(peer_id)
        peer.pieces.update(report.pieces)
        parent_id = report.parent_id
        if peer.state is PeerState.RUNNING and parent_id in self.tasks[peer.task_id].peers:
            peer.parents.add(parent_id)
        self.tasks[peer.task_id].learn_layout(report.content_length, report.piece_length)
        return peer

    def assign_parents(self, peer: Peer, parents: Iterable[Peer]) -> None:
        self._require_unfinished(peer)
        peer.state = PeerState.RUNNING
        peer.parents = {parent.peer_id for parent in parents}

    def keep_parents(self, peer: Peer, parent_ids: Iterable[str]) -> list[Peer]:
        """The peer downloads from these (those still known and not blocklisted) and others
        it is given next (:meth:`add_parents`); returns the ones kept."""
        self._require_unfinished(peer)
        task = self.tasks[peer.task_id]
        kept = [
            task.peers[parent_id]
            for parent_id in parent_ids
            if parent_id in task.peers and parent_id not in peer.blocklist
        ]
        peer.parents = {parent.peer_id for parent in kept}
        return kept

    def add_parents(self, peer: Peer, parents: Iterable[Peer]) -> None:
        self._require_unfinished(peer)
        peer.state = PeerState.RUNNING
        peer.parents.update(parent.peer_id for parent in parents)

    def go_back_to_source(self, peer: Peer) -> None:
        self._require_unfinished(peer)
        peer.state = PeerState.BACK_TO_SOURCE
        peer.parents = set()

    def block_parents(self, peer: Peer, parent_ids: Iterable[str]) -> list[Peer]:
        """Never give ``peer`` these parents again; returns the ones still known."""
        blocked: list[Peer] = []
        for parent_id in parent_ids:
            peer.blocklist.add(parent_id)
            peer.parents.discard(parent_id)
            parent = self.peers.get(parent_id)
            if parent is not None and parent is not peer:
                parent.host.reported_failures += 1
                blocked.append(parent)
        return blocked

    def finish(self, peer: Peer, result: ReportResult) -> None:
        peer.state = PeerState.SUCCEEDED if result.success else PeerState.FAILED
        peer.error = result.error
        peer.parents = set()
        self.tasks[peer.task_id].learn_layout(result.content_length, result.piece_length)
        if self.on_peer_done is not None:
            self.on_peer_done(peer)

    def _require_unfinished(self, peer: Peer) -> None:
        if peer.is_complete:
            raise PeerConflict(f"peer {peer.peer_id!r} has finished its task")
