"""A task download as a peer of the swarm: announce, follow parents, report, fall back.

The scheduler that owns the task (by consistent hash) is asked for parents; their pieces are
fetched by :class:`SwarmDownload`; failing parents are reported and the scheduler asked
again. The source is the last resort: when the scheduler says so, when it cannot be reached
(the daemon keeps working without one), or when parents keep failing. Every piece this peer
stores, from parents or the source, is reported, so it serves others as soon as it can.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from swarmfly import errors, idgen
from swarmfly.config import DownloadConfig
from swarmfly.daemon.announcer import Announcer
from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.reporter import PieceReporter
from swarmfly.daemon.swarm import OnPiece, SwarmDownload
from swarmfly.daemon.tasks import TaskDownload, TaskRequest
from swarmfly.storage import PieceStore, TaskRecord
from swarmfly.wire.peer_client import PieceClient
from swarmfly.wire.scheduler import (
    Action,
    AnnouncePeer,
    BadParent,
    Parent,
    PeerAssignment,
    ReportResult,
    Reschedule,
    TaskSpec,
)
from swarmfly.wire.scheduler_client import SchedulerClient

logger = logging.getLogger(__name__)

MAX_RESCHEDULES = 3

BackToSource = Callable[[OnPiece | None], Awaitable[TaskRecord]]
Complete = Callable[[], Awaitable[TaskRecord]]


def task_spec(request: TaskRequest) -> TaskSpec:
    return TaskSpec(
        task_id=request.task_id,
        url=request.url,
        headers=list(request.headers),
        tag=request.tag,
        application=request.application,
        filtered_query_params=list(request.filtered_query_params),
        piece_length=request.piece_length,
        digest=str(request.digest) if request.digest else None,
        use_blob_digest=request.use_blob_digest,
    )


class Peering:
    """What a download needs to take part in the swarm."""

    def __init__(
        self,
        announcer: Announcer,
        pieces: PieceClient,
        store: PieceStore,
        config: DownloadConfig,
        metrics: DaemonMetrics,
    ) -> None:
        self.announcer = announcer
        self._pieces = pieces
        self._store = store
        self._config = config
        self._metrics = metrics

    async def download(
        self,
        request: TaskRequest,
        download: TaskDownload,
        back_to_source: BackToSource,
        complete: Complete,
    ) -> TaskRecord:
        owner = self.announcer.client_for(request.task_id)
        if owner is None:
            return await back_to_source(None)
        addr, client = owner
        host = self.announcer.host
        peer_id = request.peer_id or idgen.peer_id(host.ip, host.hostname, is_seed=host.is_seed)
        session = _Session(self, request, download, client, addr, peer_id)
        return await session.run(back_to_source, complete)

    def swarm(
        self, request: TaskRequest, download: TaskDownload, on_piece: OnPiece
    ) -> SwarmDownload:
        return SwarmDownload(
            request,
            download,
            self._store,
            self._pieces,
            self._metrics,
            concurrency=self._config.concurrent_piece_count,
            piece_timeout=self._config.piece_timeout.total_seconds(),
            on_piece=on_piece,
        )


class _Session:
    def __init__(
        self,
        peering: Peering,
        request: TaskRequest,
        download: TaskDownload,
        client: SchedulerClient,
        addr: str,
        peer_id: str,
    ) -> None:
        self._peering = peering
        self._request = request
        self._download = download
        self._client = client
        self._addr = addr
        self._peer_id = peer_id

    async def run(self, back_to_source: BackToSource, complete: Complete) -> TaskRecord:
        reporter = PieceReporter(self._client, self._peer_id)
        try:
            async with reporter.running():  # its last batch goes out before the result
                record = await self._follow(back_to_source, complete, reporter.add)
        except BaseException as exc:
            await asyncio.shield(self._report(ReportResult(success=False, error=str(exc))))
            raise
        result = ReportResult(
            success=True, content_length=record.content_length, piece_length=record.piece_length
        )
        await asyncio.shield(self._report(result))
        return record

    async def _follow(
        self, back_to_source: BackToSource, complete: Complete, on_piece: OnPiece
    ) -> TaskRecord:
        if self._request.is_seed_order:
            return await back_to_source(on_piece)
        assignment = await self._announce()
        for attempt in range(MAX_RESCHEDULES + 1):
            if assignment.action is Action.BACK_TO_SOURCE:
                logger.info(
                    "going back to source",
                    extra={"task_id": self._request.task_id, "reason": assignment.reason},
                )
                return await back_to_source(on_piece)
            swarm = self._peering.swarm(self._request, self._download, on_piece)
            if await swarm.run(assignment.parents, more=self._more_parents) is not None:
                return await complete()
            if attempt == MAX_RESCHEDULES:
                break
            assignment = await self._reschedule(Reschedule(bad_parents=swarm.bad))
        return await back_to_source(on_piece)

    async def _announce(self) -> PeerAssignment:
        if not await self._peering.announcer.settled(self._addr):
            return PeerAssignment(action=Action.BACK_TO_SOURCE, reason="scheduler unreachable")
        message = AnnouncePeer(
            peer_id=self._peer_id,
            host_id=self._peering.announcer.host.host_id,
            task=task_spec(self._request),
        )
        try:
            return await self._client.announce_peer(message)
        except errors.SwarmflyError as exc:
            return self._without_scheduler(exc)

    async def _more_parents(self, bad: list[BadParent], current: list[str]) -> list[Parent]:
        """Parents besides ``current`` the scheduler would give now (maybe none)."""
        message = Reschedule(bad_parents=bad, current_parents=current)
        answer = await self._client.reschedule(self._peer_id, message)
        return answer.parents if answer.action is Action.PARENTS else []

    async def _reschedule(self, message: Reschedule) -> PeerAssignment:
        try:
            return await self._client.reschedule(self._peer_id, message)
        except errors.SwarmflyError as exc:
            return self._without_scheduler(exc)

    def _without_scheduler(self, exc: errors.SwarmflyError) -> PeerAssignment:
        logger.warning(
            "scheduler unavailable; going back to source",
            extra={"task_id": self._request.task_id, "scheduler": self._addr, "error": str(exc)},
        )
        return PeerAssignment(action=Action.BACK_TO_SOURCE, reason="scheduler unavailable")

    async def _report(self, result: ReportResult) -> None:
        try:
            await self._client.report_result(self._peer_id, result)
        except errors.SwarmflyError as exc:
            logger.info(
                "could not report the result", extra={"peer_id": self._peer_id, "error": str(exc)}
            )
