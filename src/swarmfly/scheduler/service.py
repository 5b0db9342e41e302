"""The scheduler's answer to each request, over its state, parent choice and seed orders.

Every decision is made in one synchronous step over the state, so two requests never see a
half-applied change; the only wait is for a seed peer to accept an order, after which the
decision is made afresh (the peer may have left meanwhile, and the seed is now a parent).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from swarmfly import errors, idgen
from swarmfly.config import SchedulerServiceConfig
from swarmfly.scheduler.metrics import SchedulerMetrics
from swarmfly.scheduler.parents import is_anchor, select_parents
from swarmfly.scheduler.seeds import (
    Fallback,
    NoParentPlan,
    SeedOrdering,
    SeedOrders,
    SeedPlacement,
    SeedRing,
    plan_without_parents,
)
from swarmfly.scheduler.state import Peer, PeerState, SchedulerState, Task
from swarmfly.wire.scheduler import (
    Action,
    AnnouncePeer,
    HostInfo,
    HostRegistered,
    KeepAlive,
    Parent,
    PeerAssignment,
    RegisterHost,
    ReportPieces,
    ReportResult,
    Reschedule,
    TaskSpec,
)

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
#: ``BadParent.reason`` values used as metric labels; anything else counts as "other".
BAD_PARENT_REASONS = frozenset({"corrupt", "failed", "slow"})
#: Parents to use, or what to do when there are none.
Decision = list[Peer] | NoParentPlan


def parent_view(peer: Peer) -> Parent:
    info = peer.host.info
    return Parent(
        peer_id=peer.peer_id,
        host_id=info.host_id,
        ip=info.ip,
        upload_port=info.upload_port,
        is_seed=peer.is_seed,
        finished_pieces=peer.finished_pieces,
        is_complete=peer.is_complete,
    )


class SchedulerService:
    """Registers hosts, answers announces and reschedules, and records reports."""

    def __init__(
        self,
        config: SchedulerServiceConfig,
        seed_client: SeedOrdering,
        metrics: SchedulerMetrics,
        *,
        state: SchedulerState | None = None,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._host_ttl = config.host_ttl.total_seconds()
        self.state = state or SchedulerState()
        self.state.on_peer_done = self._peer_done
        self._done_waiters: dict[str, list[asyncio.Future[Peer | None]]] = {}
        self._metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._ring = SeedRing()
        self._orders = SeedOrders(
            seed_client,
            timeout=config.seed_order_timeout.total_seconds(),
            placed=self._record_seed,
            metrics=metrics,
        )
        metrics.watch(
            seed_hosts=lambda: sum(host.is_seed for host in self.state.hosts.values()),
            normal_hosts=lambda: sum(not host.is_seed for host in self.state.hosts.values()),
            peers=lambda: len(self.state.peers),
            tasks=lambda: len(self.state.tasks),
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[SchedulerService]:
        async with self._orders.running():
            yield self

    # seed peers on their own (preheat)

    def seed_targets(self, task_id: str) -> list[HostInfo]:
        """Live seed hosts in ring order for ``task_id``: the owner first, then fallbacks."""
        now = self._clock()
        alive = [
            host.info
            for host in self.state.hosts.values()
            if host.is_seed and host.is_alive(now, self._host_ttl)
        ]
        return self._ring.order(task_id, alive)

    async def place_seed(self, spec: TaskSpec, targets: list[HostInfo]) -> SeedPlacement | None:
        """Order the first of ``targets`` that accepts to fetch ``spec``; None if none did."""
        return await self._orders.place(spec, targets)

    async def wait_peer_done(self, peer_id: str) -> Peer | None:
        """Wait until ``peer_id`` finishes (its last state), or None if it is forgotten first."""
        peer = self.state.peers.get(peer_id)
        if peer is None:
            return None
        if not peer.is_downloading:
            return peer
        done: asyncio.Future[Peer | None] = asyncio.get_running_loop().create_future()
        self._done_waiters.setdefault(peer_id, []).append(done)
        try:
            return await done
        finally:
            waiters = self._done_waiters.get(peer_id, [])
            if done in waiters:
                waiters.remove(done)
            if not waiters:
                self._done_waiters.pop(peer_id, None)

    def _peer_done(self, peer: Peer) -> None:
        gone = peer.peer_id not in self.state.peers
        for waiter in self._done_waiters.pop(peer.peer_id, []):
            if not waiter.done():
                waiter.set_result(None if gone else peer)

    # hosts

    def register_host(self, message: RegisterHost) -> HostRegistered:
        info = message.host
        if not info.host_id:
            raise errors.InvalidInput("host_id is empty")
        stale = self.state.register_host(info, self._clock())
        logger.info(
            "host registered",
            extra={"host_id": info.host_id, "is_seed": info.is_seed, "dropped_peers": len(stale)},
        )
        return HostRegistered(
            host_id=info.host_id,
            keepalive_interval=self._config.host_keepalive_interval.total_seconds(),
        )

    def keepalive(self, host_id: str, message: KeepAlive) -> None:
        self.state.keep_alive(host_id, message.load, self._clock())

    def leave_host(self, host_id: str) -> None:
        peers = self.state.remove_host(host_id)
        if peers is not None:
            logger.info("host left", extra={"host_id": host_id, "peers": len(peers)})

    # peers

    async def announce(self, message: AnnouncePeer) -> PeerAssignment:
        if not message.peer_id:
            raise errors.InvalidInput("peer_id is empty")
        if not idgen.is_task_id(message.task.task_id):
            raise errors.InvalidInput(f"not a task ID: {message.task.task_id!r}")
        host = self.state.host(message.host_id)
        peer = self.state.announce(message.peer_id, host, message.task)
        source_reason = None
        if message.need_back_to_source:
            source_reason = "requested by the peer"
        elif peer.state is PeerState.BACK_TO_SOURCE:
            source_reason = "already fetching from the source"  # e.g. a seed peer on an order
        return await self._schedule(peer, source_reason=source_reason)

    def report_pieces(self, peer_id: str, message: ReportPieces) -> None:
        peer = self.state.record_pieces(peer_id, message)
        logger.debug(
            "pieces reported",
            extra={"peer_id": peer_id, "task_id": peer.task_id, "pieces": len(message.pieces)},
        )

    async def reschedule(self, peer_id: str, message: Reschedule) -> PeerAssignment:
        peer = self.state.peer(peer_id)
        reasons = {bad.peer_id: bad.reason for bad in message.bad_parents}
        for parent in self.state.block_parents(peer, reasons):
            reason = reasons[parent.peer_id]
            label = reason if reason in BAD_PARENT_REASONS else "other"
            self._metrics.bad_parents.labels(reason=label).inc()
            logger.warning(
                "bad parent reported",
                extra={
                    "task_id": peer.task_id,
                    "peer_id": peer_id,
                    "parent_id": parent.peer_id,
                    "host_id": parent.host.host_id,
                    "reason": reason,
                },
            )
        if message.current_parents:
            return self._recruit(peer, message.current_parents)
        return await self._schedule(peer, source_reason=None)

    def _recruit(self, peer: Peer, current: list[str]) -> PeerAssignment:
        """New parents for a peer that keeps ``current``: as its task's other peers gain
        pieces they become parents, on top of the seed peer they all started with."""
        kept = self.state.keep_parents(peer, current)
        task = self.state.task_of(peer)
        parents = select_parents(
            peer,
            task.peers.values(),
            anchored=any(is_anchor(parent) for parent in kept),
            piece_count=task.piece_count,
            now=self._clock(),
            host_ttl=self._host_ttl,
            limits=self._config.scheduling,
            rng=self._rng,
        )
        self.state.add_parents(peer, parents)
        if parents:
            logger.debug(
                "parents added",
                extra={
                    "task_id": task.task_id,
                    "peer_id": peer.peer_id,
                    "parents": ",".join(parent.peer_id for parent in parents),
                },
            )
        return self._assignment(task, Action.PARENTS, [parent_view(p) for p in parents])

    def report_result(self, peer_id: str, message: ReportResult) -> None:
        peer = self.state.peer(peer_id)
        self.state.finish(peer, message)
        outcome = "succeeded" if message.success else "failed"
        self._metrics.results.labels(outcome=outcome).inc()
        logger.info(
            "peer finished",
            extra={
                "task_id": peer.task_id,
                "peer_id": peer_id,
                "outcome": outcome,
                "pieces": peer.finished_pieces,
            },
        )

    def leave_peer(self, peer_id: str) -> None:
        peer = self.state.remove_peer(peer_id)
        if peer is not None:
            logger.debug("peer left", extra={"peer_id": peer_id, "task_id": peer.task_id})

    # decisions

    async def _schedule(self, peer: Peer, *, source_reason: str | None) -> PeerAssignment:
        """Parents for ``peer``, or the source (at once when ``source_reason`` says why).

        A whole new set: the parents it had, if any, are left (they failed, or it announced
        again)."""
        if peer.is_downloading:
            self.state.keep_parents(peer, [])
        if source_reason is not None:
            return self._apply(peer, NoParentPlan(Fallback.BACK_TO_SOURCE, source_reason))
        decision = self._decide(peer, order_failed=False)
        if isinstance(decision, NoParentPlan) and decision.action is Fallback.ORDER_SEED:
            task = self.state.task_of(peer)
            await self._orders.place(task.spec, self._seed_targets(peer))
            peer = self.state.peer(peer.peer_id)  # it may have left while we waited
            decision = self._decide(peer, order_failed=True)
        return self._apply(peer, decision)

    def _decide(self, peer: Peer, *, order_failed: bool) -> Decision:
        task = self.state.task_of(peer)
        now = self._clock()
        parents = select_parents(
            peer,
            task.peers.values(),
            anchored=False,
            piece_count=task.piece_count,
            now=now,
            host_ttl=self._host_ttl,
            limits=self._config.scheduling,
            rng=self._rng,
        )
        if parents:
            return parents
        return plan_without_parents(
            task,
            peer,
            seeds_alive=bool(self._seed_targets(peer)),
            order_failed=order_failed,
            now=now,
            host_ttl=self._host_ttl,
        )

    def _apply(self, peer: Peer, decision: Decision) -> PeerAssignment:
        task = self.state.task_of(peer)
        if isinstance(decision, list):
            self.state.assign_parents(peer, decision)
            self._metrics.announces.labels(action=Action.PARENTS.value).inc()
            logger.debug(
                "parents assigned",
                extra={
                    "task_id": task.task_id,
                    "peer_id": peer.peer_id,
                    "parents": ",".join(parent.peer_id for parent in decision),
                },
            )
            return self._assignment(task, Action.PARENTS, [parent_view(p) for p in decision])
        self.state.go_back_to_source(peer)
        self._metrics.announces.labels(action=Action.BACK_TO_SOURCE.value).inc()
        self._metrics.back_to_source.labels(reason=decision.reason).inc()
        logger.info(
            "peer sent back to source",
            extra={"task_id": task.task_id, "peer_id": peer.peer_id, "reason": decision.reason},
        )
        return self._assignment(task, Action.BACK_TO_SOURCE, [], reason=decision.reason)

    @staticmethod
    def _assignment(
        task: Task, action: Action, parents: list[Parent], *, reason: str = ""
    ) -> PeerAssignment:
        return PeerAssignment(
            action=action,
            parents=parents,
            content_length=task.content_length,
            piece_length=task.piece_length,
            reason=reason,
        )

    def _seed_targets(self, peer: Peer) -> list[HostInfo]:
        """Live seed hosts in ring order for the peer's task, the peer's own host left out."""
        targets = self.seed_targets(peer.task_id)
        return [info for info in targets if info.host_id != peer.host.host_id]

    def _record_seed(self, spec: TaskSpec, placement: SeedPlacement) -> None:
        host = self.state.host(placement.host_id)
        if placement.peer_id in self.state.peers:
            return
        state = PeerState.SUCCEEDED if placement.complete else PeerState.BACK_TO_SOURCE
        self.state.add_peer(placement.peer_id, host, spec, state)
