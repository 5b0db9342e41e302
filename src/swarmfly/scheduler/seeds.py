"""The first source of a task: a seed peer ordered to fetch it, or one peer sent to the source.

When no candidate parent passes the filter, :func:`plan_without_parents` decides, in order:

1. a peer already fetching from the source (or a seed peer following an order) keeps doing so;
2. if the task already has a live source the peer cannot use (blocklisted, same host, …),
   the peer goes to the source itself;
3. if seed peers are alive and no order failed yet for this request, order one;
4. otherwise this peer goes to the source, and becomes the parent of the peers after it:
   one peer goes to the source, not all of them.

The seed peer for a task is its owner on a consistent-hash ring of the live seed hosts, so
every scheduler and every retry picks the same one while the seed set is unchanged; if it
refuses or cannot be reached, the next owner on the ring is tried. :class:`SeedOrders` owns the
orders in flight: concurrent announces of one task share a single order, and an announce whose
client goes away does not cancel an order others wait for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Protocol

from swarmfly import errors, idgen
from swarmfly.hashring import HashRing
from swarmfly.scheduler.metrics import SchedulerMetrics
from swarmfly.scheduler.parents import can_serve
from swarmfly.scheduler.state import Peer, PeerState, Task
from swarmfly.wire.scheduler import HostInfo, SeedOrder, SeedOrderAccepted, TaskSpec

logger = logging.getLogger(__name__)


class Fallback(StrEnum):
    ORDER_SEED = "order_seed"
    BACK_TO_SOURCE = "back_to_source"


@dataclass(frozen=True)
class NoParentPlan:
    action: Fallback
    reason: str = ""  # why back-to-source, for the peer's logs and the metric label


def plan_without_parents(
    task: Task,
    child: Peer,
    *,
    seeds_alive: bool,
    order_failed: bool,
    now: float,
    host_ttl: float,
) -> NoParentPlan:
    """What ``child`` does when no parent passed the filter (see the module docstring)."""
    if child.state is PeerState.BACK_TO_SOURCE:
        return NoParentPlan(Fallback.BACK_TO_SOURCE, "already fetching from the source")
    if any(
        peer is not child and can_serve(peer) and peer.host.is_alive(now, host_ttl)
        for peer in task.peers.values()
    ):
        return NoParentPlan(Fallback.BACK_TO_SOURCE, "no usable parent")
    if order_failed:
        return NoParentPlan(Fallback.BACK_TO_SOURCE, "seed order failed")
    if seeds_alive:
        return NoParentPlan(Fallback.ORDER_SEED)
    return NoParentPlan(Fallback.BACK_TO_SOURCE, "no seed peer")


class SeedRing:
    """The consistent-hash order of seed hosts for a task, rebuilt only when the set changes."""

    def __init__(self) -> None:
        self._ring = HashRing(())

    def order(self, task_id: str, seeds: Sequence[HostInfo]) -> list[HostInfo]:
        by_id = {seed.host_id: seed for seed in seeds}
        if tuple(sorted(by_id)) != self._ring.members:
            self._ring = HashRing(by_id)
        return [by_id[host_id] for host_id in self._ring.owners(task_id, len(by_id))]


@dataclass(frozen=True)
class SeedPlacement:
    """A seed peer that accepted an order: it is listed as a parent under ``peer_id``."""

    host_id: str
    peer_id: str
    complete: bool  # it already held the task


#: Records an accepted order in the state (once per order); raises ``NotFound`` when the seed
#: host vanished meanwhile, and then the next seed host is tried.
Placed = Callable[[TaskSpec, SeedPlacement], None]


class SeedOrdering(Protocol):
    """How an order reaches a seed peer: ``wire.scheduler_client.SeedClient``, or a test's fake."""

    async def order(
        self, host_ip: str, control_port: int, message: SeedOrder, *, time_limit: float
    ) -> SeedOrderAccepted: ...


class SeedOrders:
    """Sends download orders to seed peers; owns the orders in flight, one per task."""

    def __init__(
        self,
        client: SeedOrdering,
        *,
        timeout: float,
        placed: Placed,
        metrics: SchedulerMetrics,
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._placed = placed
        self._metrics = metrics
        self._inflight: dict[str, asyncio.Task[SeedPlacement | None]] = {}
        self._open = False

    @asynccontextmanager
    async def running(self) -> AsyncIterator[SeedOrders]:
        """Accept orders until the block exits; then cancel the ones in flight and wait."""
        self._open = True
        try:
            yield self
        finally:
            self._open = False
            inflight = list(self._inflight.values())
            for task in inflight:
                task.cancel()
            if inflight:
                await asyncio.wait(inflight)

    def in_flight(self, task_id: str) -> bool:
        return task_id in self._inflight

    async def place(self, spec: TaskSpec, targets: Sequence[HostInfo]) -> SeedPlacement | None:
        """Order the first of ``targets`` that accepts; None if none did.

        A call for a task whose order is in flight waits for that order instead of sending one.
        """
        if not self._open:
            raise errors.Unavailable("the scheduler is stopping")
        order = self._inflight.get(spec.task_id)
        if order is None:
            order = asyncio.create_task(
                self._order(spec, list(targets)), name=f"seed order {spec.task_id}"
            )
            self._inflight[spec.task_id] = order
            order.add_done_callback(partial(self._forget, spec.task_id))
        return await asyncio.shield(order)

    def _forget(self, task_id: str, order: asyncio.Task[SeedPlacement | None]) -> None:
        if self._inflight.get(task_id) is order:
            del self._inflight[task_id]

    async def _order(self, spec: TaskSpec, targets: list[HostInfo]) -> SeedPlacement | None:
        try:
            for host in targets:
                placement = await self._order_one(spec, host)
                if placement is not None:
                    return placement
            logger.warning(
                "no seed peer accepted the task",
                extra={"task_id": spec.task_id, "seed_peers": len(targets)},
            )
            return None
        except Exception:  # the top of an owned task: the announces fall back to the source
            logger.exception("seed order crashed", extra={"task_id": spec.task_id})
            self._metrics.seed_orders.labels(outcome="error").inc()
            return None

    async def _order_one(self, spec: TaskSpec, host: HostInfo) -> SeedPlacement | None:
        peer_id = idgen.peer_id(host.ip, host.hostname, is_seed=True)
        try:
            accepted = await self._client.order(
                host.ip,
                host.control_port,
                SeedOrder(peer_id=peer_id, task=spec),
                time_limit=self._timeout,
            )
            placement = SeedPlacement(
                host_id=host.host_id,
                peer_id=accepted.peer_id or peer_id,
                complete=accepted.state == "succeeded",
            )
            self._placed(spec, placement)
        except errors.SwarmflyError as exc:
            outcome = "timeout" if isinstance(exc, errors.Timeout) else "failed"
            self._metrics.seed_orders.labels(outcome=outcome).inc()
            logger.warning(
                "seed peer refused the order",
                extra={"task_id": spec.task_id, "host_id": host.host_id, "error": str(exc)},
            )
            return None
        self._metrics.seed_orders.labels(outcome="accepted").inc()
        logger.info(
            "seed peer ordered",
            extra={"task_id": spec.task_id, "host_id": host.host_id, "peer_id": placement.peer_id},
        )
        return placement
