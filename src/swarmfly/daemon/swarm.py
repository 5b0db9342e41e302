"""Fetch a task's pieces from parents the scheduler chose, several at once.

One watcher per parent follows its piece list (a long poll: the parent answers when it has
more pieces); workers (``download.concurrentPieceCount`` of them) take the lowest missing
piece some live parent holds, from the least busy such parent, and verify it against the
digest the parent published before storing it. A parent that fails, stalls or serves a
corrupt piece is dropped and reported; when no parent is left the caller asks the scheduler
again. The decisions (:meth:`SwarmState.next_job`) are plain functions over the state.
"""

from __future__ import annotations

import asyncio
import logging
import random
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
RECRUIT_INTERVAL = 2.0
#: Pieces fetched strictly in order at the start of a task, before each peer's own order.
IN_ORDER_PIECES = 2
WANTED_PARENTS = 4

MoreParents = Callable[[list[BadParent]], Awaitable[list[Parent]]]


@dataclass
class ParentState:
    info: Parent
    pieces: dict[int, str] = field(default_factory=dict)  # number -> xxh3 digest
    complete: bool = False
    in_flight: int = 0
    alive: bool = True


@dataclass
class SwarmState:
    """What the workers decide on: parents, their pieces, and what is done or in flight."""

    parents: dict[str, ParentState]
    have: set[int] = field(default_factory=set)
    in_progress: set[int] = field(default_factory=set)
    piece_count: int | None = None
    start_fraction: float = field(default_factory=random.random)  # see piece_order()

    def live(self) -> list[ParentState]:
        return [parent for parent in self.parents.values() if parent.alive]

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

    def next_job(self) -> tuple[int, ParentState] | None:
        """The next missing piece a live parent has, from the least busy parent that has it
        (a peer before a seed peer, whose uplink every newcomer wants)."""
        if self.piece_count is None:
            return None
        live = self.live()
        for number in self.piece_order:
            if number in self.have or number in self.in_progress:
                continue
            holders = [parent for parent in live if number in parent.pieces]
            if holders:
                return number, min(holders, key=lambda p: (p.in_flight, p.info.is_seed))
        return None


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
            if self._done() or len(self.state.live()) >= WANTED_PARENTS:
                continue
            try:
                fresh = await more(list(self.bad))
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

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _drop(self, parent: ParentState, reason: str, error: str) -> None:
        if parent.alive:
            parent.alive = False
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
            parent.pieces = {piece.number: piece.digest for piece in listing.pieces}
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
                    lambda: self._done() or self.state.next_job() is not None
                )
                if self._done():
                    return
                job = self.state.next_job()
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
        except ParentBusy:
            # A busy parent is not a bad one: back off a little (jittered, so the workers
            # of many peers do not come back in step) and let the piece go to whoever has it.
            await asyncio.sleep(BUSY_BACKOFF * (0.5 + random.random()))
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
