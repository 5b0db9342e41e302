"""Fetch a task's pieces from parents the scheduler chose, several at once.

One watcher per parent follows its piece list (a long poll: the parent answers when it has
more pieces); workers (``download.concurrentPieceCount`` of them) take the next piece
:meth:`SwarmState.next_job` picks, and verify it against the digest the parent published
before storing it. A parent that fails, stalls or serves a corrupt piece is dropped and
reported; when no parent is left the caller asks the scheduler again. While fewer than
``WANTED_PARENTS`` are alive, the scheduler is asked for more: the task's other peers, as they
gain pieces, on top of the seed peer they all started with.

Which piece, from whom (BitTorrent's choices, with a seed peer's uplink as the scarce thing):
a piece only seed peers hold comes first, but no more than ``SEED_IN_FLIGHT`` at once from a
seed peer while other parents are alive; then, among pieces peers hold, the rarest (fewest
holders), so what is scarce spreads first, from the least busy holder (at most
``PEER_IN_FLIGHT`` requests at one parent). A seed peer refuses a piece it sent moments ago
(:mod:`swarmfly.daemon.first_copies`); that piece is then taken from the peer that got it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property

from swarmfly import errors, idgen
from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.tasks import TaskDownload, TaskRequest
from swarmfly.storage import PieceStore, TaskRecord, TaskState
from swarmfly.storage.errors import InvalidPiece, PieceCorrupt
from swarmfly.wire.peer_client import ParentBusy, PieceClient
from swarmfly.wire.pieces import PieceList
from swarmfly.wire.scheduler import BadParent, Parent

logger = logging.getLogger(__name__)

OnPiece = Callable[[int, int | None, int], None]

#: Seconds a worker waits before retrying after a parent said all its upload slots are busy.
BUSY_BACKOFF = 0.3
#: How often a download short of parents asks the scheduler for more, and how many it wants.
RECRUIT_INTERVAL = 1.0
WANTED_PARENTS = 8
#: Pieces that go first (in order) among equals, before each peer's own order.
IN_ORDER_PIECES = 2
#: Pieces fetched at once from one seed peer while other parents are alive, and from one other
#: parent: a peer that holds what others lack (it finished first, say) would otherwise get
#: every worker of every child at once, each piece sharing its uplink with all the others.
SEED_IN_FLIGHT = 1
PEER_IN_FLIGHT = 3

#: Asks the scheduler for parents besides ``current`` (peer IDs), reporting ``bad`` ones.
MoreParents = Callable[[list[BadParent], list[str]], Awaitable[list[Parent]]]


@dataclass
class ParentState:
    info: Parent
    pieces: dict[int, str] = field(default_factory=dict)  # number -> xxh3 digest
    complete: bool = False
    in_flight: int = 0
    alive: bool = True
    refused: dict[int, float] = field(default_factory=dict)  # piece -> refused until (clock)

    def can_send(self, number: int, now: float) -> bool:
        return number in self.pieces and self.refused.get(number, 0.0) <= now


@dataclass
class SwarmState:
    """What the workers decide on: parents, their pieces, and what is done or in flight."""

    parents: dict[str, ParentState]
    have: set[int] = field(default_factory=set)
    in_progress: set[int] = field(default_factory=set)
    piece_count: int | None = None
    start_fraction: float = field(default_factory=random.random)  # see piece_order()
    #: piece -> live parents other than seed peers that hold it (kept by :meth:`update`).
    peer_holders: dict[int, int] = field(default_factory=dict)

    def live(self) -> list[ParentState]:
        return [parent for parent in self.parents.values() if parent.alive]

    def update(self, parent: ParentState, pieces: dict[int, str]) -> None:
        """``parent`` now lists ``pieces``."""
        if not parent.info.is_seed and parent.alive:
            for number in pieces.keys() - parent.pieces.keys():
                self.peer_holders[number] = self.peer_holders.get(number, 0) + 1
        parent.pieces = pieces

    def drop(self, parent: ParentState) -> None:
        if parent.alive and not parent.info.is_seed:
            for number in parent.pieces:
                self.peer_holders[number] -= 1
        parent.alive = False

    def finished(self) -> bool:
        return self.piece_count is not None and len(self.have) >= self.piece_count

    def stuck(self) -> bool:
        return not self.live()

    @cached_property
    def piece_order(self) -> list[int]:
        """The order pieces are fetched in: the first few in order (a reader streaming the
        task gets its first bytes early), then the rest from a point of this peer's own.

        Peers that start together and all fetched in the same order would hold the same
        pieces at the same time and have nothing to trade; starting each at another point
        gives every one of them pieces the others lack.
        """
        assert self.piece_count is not None
        head = list(range(min(IN_ORDER_PIECES, self.piece_count)))
        rest = list(range(len(head), self.piece_count))
        if rest:
            turn = int(self.start_fraction * len(rest))
            rest = rest[turn:] + rest[:turn]
        return head + rest

    def next_job(self, now: float) -> tuple[int, ParentState] | None:
        """The next piece to fetch and from whom (see the module docstring), or None."""
        if self.piece_count is None:
            return None
        live = self.live()
        seeds = [parent for parent in live if parent.info.is_seed]
        if len(seeds) < len(live):  # other parents too: spare the seed peers' uplink
            seeds = [parent for parent in seeds if parent.in_flight < SEED_IN_FLIGHT]
        rarest: tuple[int, ParentState] | None = None
        fewest = 0
        for number in self.piece_order:
            if number in self.have or number in self.in_progress:
                continue
            holders = self.peer_holders.get(number, 0)
            if holders == 0:
                seed = next((p for p in seeds if p.can_send(number, now)), None)
                if seed is not None:
                    return number, seed
            elif rarest is None or holders < fewest:
                parent = self._peer_for(number, live, now)
                if parent is not None:
                    rarest, fewest = (number, parent), holders
        return rarest

    @staticmethod
    def _peer_for(number: int, live: list[ParentState], now: float) -> ParentState | None:
        """The least busy parent (not a seed peer) that would send ``number`` now, and has
        fewer than ``PEER_IN_FLIGHT`` of this peer's requests already."""
        holders = [
            p
            for p in live
            if not p.info.is_seed and p.in_flight < PEER_IN_FLIGHT and p.can_send(number, now)
        ]
        return min(holders, key=lambda p: p.in_flight, default=None)


class SwarmDownload:
    """One attempt to download a task from a set of parents."""

    def __init__(
        self,
        request: TaskRequest,
        download: TaskDownload,
        store: PieceStore,
        pieces: PieceClient,
        metrics: DaemonMetrics,
        *,
        concurrency: int,
        piece_timeout: float,
        on_piece: OnPiece,
    ) -> None:
        self._request = request
        self._download = download
        self._store = store
        self._client = pieces
        self._metrics = metrics
        self._concurrency = concurrency
        self._piece_timeout = piece_timeout
        self._on_piece = on_piece
        self._changed = asyncio.Condition()
        self._layout_lock = asyncio.Lock()
        self._record: TaskRecord | None = None
        self.bad: list[BadParent] = []
        self.state = SwarmState(parents={})
        self._group: asyncio.TaskGroup | None = None
        self._watchers: list[asyncio.Task[None]] = []

    async def run(
        self, parents: list[Parent], more: MoreParents | None = None
    ) -> TaskRecord | None:
        """Download from ``parents``; the finished record, or None when every parent failed.

        With ``more``, the scheduler is asked again every ``RECRUIT_INTERVAL`` while fewer
        than ``WANTED_PARENTS`` parents are alive: peers that started together get only the
        seed at first (the others hold nothing yet), and take pieces from one another as soon
        as they have some, instead of all queuing at the seed.
        """
        self.state.parents = {p.peer_id: ParentState(p) for p in parents}
        async with asyncio.TaskGroup() as group:
            self._group = group
            for parent in self.state.parents.values():
                self._watchers.append(group.create_task(self._watch(parent)))
            workers = [group.create_task(self._work()) for _ in range(self._concurrency)]
            if more is not None:
                self._watchers.append(group.create_task(self._recruit(more)))
            await asyncio.wait(workers)
            for watcher in self._watchers:  # long polls and the recruiter: no need to wait
                watcher.cancel()
        if not self.state.finished():
            return None
        assert self._record is not None
        return self._record

    async def _recruit(self, more: MoreParents) -> None:
        while not self._done():
            await asyncio.sleep(RECRUIT_INTERVAL)
            live = self.state.live()
            if self._done() or len(live) >= WANTED_PARENTS:
                continue
            try:
                fresh = await more(list(self.bad), [parent.info.peer_id for parent in live])
            except errors.SwarmflyError:
                continue  # the scheduler is away: keep going with the parents we have
            added = [p for p in fresh if p.peer_id not in self.state.parents]
            for info in added:
                parent = self.state.parents[info.peer_id] = ParentState(info)
                assert self._group is not None
                self._watchers.append(self._group.create_task(self._watch(parent)))
            if added:
                logger.info(
                    "parents added",
                    extra={"task_id": self._request.task_id, "parents": len(added)},
                )

    async def _wake_after(self, delay: float) -> None:
        """Let the workers look again once a parent's refusal has lapsed."""
        await asyncio.sleep(delay)
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _drop(self, parent: ParentState, reason: str, error: str) -> None:
        if parent.alive:
            self.state.drop(parent)
            self.bad.append(BadParent(peer_id=parent.info.peer_id, reason=reason))
            self._metrics.errors.labels(f"parent_{reason}").inc()
            logger.warning(
                "parent dropped",
                extra={
                    "task_id": self._request.task_id,
                    "parent": parent.info.peer_id,
                    "reason": reason,
                    "error": error,
                },
            )
        await self._notify()

    def _done(self) -> bool:
        return self.state.finished() or self.state.stuck()

    async def _watch(self, parent: ParentState) -> None:
        """Follow one parent's piece list until it is complete, fails or stalls."""
        info = parent.info
        known = -1
        while parent.alive and not self._done():
            try:
                listing = await self._client.list_pieces(
                    info.ip,
                    info.upload_port,
                    self._request.task_id,
                    known=known,
                    wait=self._piece_timeout,
                )
            except errors.SwarmflyError as exc:
                await self._drop(parent, "failed", str(exc))
                return
            if listing is None or listing.state == TaskState.FAILED.value:
                await self._drop(parent, "failed", "the parent does not have the task")
                return
            if len(listing.pieces) <= known and listing.state != TaskState.SUCCEEDED.value:
                await self._drop(parent, "slow", f"no new piece in {self._piece_timeout:g}s")
                return
            known = len(listing.pieces)
            self.state.update(parent, {piece.number: piece.digest for piece in listing.pieces})
            parent.complete = listing.state == TaskState.SUCCEEDED.value
            await self._adopt_layout(listing)
            await self._notify()
            if parent.complete:
                return

    async def _adopt_layout(self, listing: PieceList) -> None:
        """Create (or resume) the task in the store the first time a parent knows its length."""
        if self._record is not None or listing.content_length is None:
            return
        async with self._layout_lock:
            if self._record is not None:
                return
            record = await self._store.create_task(
                self._request.task_id,
                url=self._request.url,
                content_length=listing.content_length,
                piece_length=listing.piece_length,
                digest=str(self._request.digest) if self._request.digest else None,
            )
            have = await self._store.pieces(record.id) if record.state == TaskState.RUNNING else []
            self._record = record
            self.state.have = {piece.number for piece in have}
            self.state.piece_count = idgen.piece_count(listing.content_length, listing.piece_length)
            await self._download.started(record, have)

    async def _work(self) -> None:
        while True:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: self._done() or self.state.next_job(time.monotonic()) is not None
                )
                if self._done():
                    return
                job = self.state.next_job(time.monotonic())
                assert job is not None
                number, parent = job
                self.state.in_progress.add(number)
                parent.in_flight += 1
            try:
                await self._fetch(number, parent)
            finally:
                self.state.in_progress.discard(number)
                parent.in_flight -= 1
                await self._notify()

    async def _fetch(self, number: int, parent: ParentState) -> None:
        info = parent.info
        try:
            piece = await self._client.fetch_piece(
                info.ip, info.upload_port, self._request.task_id, number
            )
        except ParentBusy as exc:
            # A busy parent is not a bad one. When it says for how long it will not send
            # this piece, another piece is taken meanwhile; otherwise back off a little
            # (jittered, so the workers of many peers do not come back in step).
            if exc.retry_after is None:
                await asyncio.sleep(BUSY_BACKOFF * (0.5 + random.random()))
                return
            parent.refused[number] = time.monotonic() + exc.retry_after
            assert self._group is not None
            self._watchers.append(self._group.create_task(self._wake_after(exc.retry_after)))
            return
        except errors.SwarmflyError as exc:
            await self._drop(parent, "failed", str(exc))
            return
        expected = parent.pieces.get(number)
        assert self._record is not None
        try:
            if piece.digest != expected:
                raise PieceCorrupt(
                    f"piece {number} came with digest {piece.digest}, not {expected}"
                )
            offset = number * self._record.piece_length
            record = await self._store.write_piece(
                self._request.task_id, number, offset, piece.data, expected_digest=expected
            )
        except (PieceCorrupt, InvalidPiece) as exc:
            await self._drop(parent, "corrupt", str(exc))
            return
        self.state.have.add(number)
        self._metrics.pieces.labels("parent").inc()
        await self._download.piece_landed(record)
        self._on_piece(number, self._record.content_length, self._record.piece_length)
