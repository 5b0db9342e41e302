"""Preheat: claim work from the manager, resolve it to blobs, have seed peers fetch each one.

A work item is one job for this scheduler's cluster. An image is resolved on its registry (for
the job's platform, with its credentials) to its config and layer blobs; a file job is its
URLs. Each blob gets the task ID a pull will use (the one ``idgen`` rule: the digest for a
blob URL), so the pull that follows always hits. Seed peers are chosen as for any new task
(consistent hash of the task ID; ``all_seed_peers`` orders every live seed), and the worker
waits for each seed peer's own result rather than polling it. Progress renews the lease; the
result is written once, shielded, and says in plain words why a blob failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

from swarmfly import errors, idgen
from swarmfly.logs import redacted_url
from swarmfly.registry import RegistryClient
from swarmfly.scheduler.manager_link import ManagerLink
from swarmfly.scheduler.service import SchedulerService
from swarmfly.scheduler.state import Peer
from swarmfly.wire.manager import (
    MAX_CLAIM_WAIT,
    BlobResult,
    BlobState,
    ClaimWork,
    PreheatArgs,
    PreheatScope,
    WorkItem,
    WorkProgress,
    WorkResult,
)
from swarmfly.wire.manager_client import ManagerClient
from swarmfly.wire.scheduler import HostInfo, TaskSpec

logger = logging.getLogger(__name__)

MAX_WORK = 4  # work items this scheduler runs at once


@dataclass
class _Blob:
    """One blob of a preheat on one seed peer, as it goes."""

    spec: TaskSpec
    size: int | None = None
    host: HostInfo | None = None
    peer_id: str = ""
    state: BlobState = BlobState.PENDING
    description: str = ""
    bytes_done: int = 0

    def result(self) -> BlobResult:
        return BlobResult(
            url=self.spec.url,
            task_id=self.spec.task_id,
            hostname=self.host.hostname if self.host else "",
            ip=self.host.ip if self.host else "",
            size=self.size,
            bytes_done=self.bytes_done,
            state=self.state,
            description=self.description,
        )


@dataclass
class _Work:
    item: WorkItem
    blobs: list[_Blob] = field(default_factory=list)


class PreheatWorker:
    """Takes preheat work for one cluster and runs up to ``MAX_WORK`` items at once."""

    def __init__(
        self,
        manager: ManagerClient,
        link: ManagerLink,
        service: SchedulerService,
        registry: RegistryClient,
        *,
        claim_interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._manager = manager
        self._link = link
        self._service = service
        self._registry = registry
        self._claim_interval = claim_interval
        self._clock = clock
        self._slots = asyncio.Semaphore(MAX_WORK)
        self._running: dict[int, asyncio.Task[None]] = {}

    @asynccontextmanager
    async def running(self) -> AsyncIterator[PreheatWorker]:
        claimer = asyncio.create_task(self._claim_loop(), name="preheat claims")
        try:
            yield self
        finally:
            claimer.cancel()
            for task in self._running.values():
                task.cancel()
            await asyncio.gather(claimer, *self._running.values(), return_exceptions=True)

    async def _claim_loop(self) -> None:
        registered = await self._link.registration()
        # A long poll: the manager answers as soon as work for the cluster is created, so a
        # preheat starts at once; an empty answer after the wait is simply asked again.
        claim = ClaimWork(
            scheduler_id=registered.scheduler_id,
            cluster_id=registered.cluster_id,
            wait_seconds=min(self._claim_interval, MAX_CLAIM_WAIT),
        )
        loop = asyncio.get_running_loop()
        while True:
            await self._slots.acquire()
            asked = loop.time()
            try:
                item = await self._manager.claim(claim)
            except errors.SwarmflyError as exc:
                logger.debug("claim failed", extra={"error": str(exc)})
                item = None
            if item is None:
                self._slots.release()
                # A failed claim, or a manager that did not hold the answer: wait out the
                # rest of the interval rather than ask again at once.
                await asyncio.sleep(max(0.0, asked + self._claim_interval - loop.time()))
                continue
            task = asyncio.create_task(self._run(item, registered.scheduler_id))
            self._running[item.work_id] = task
            task.add_done_callback(partial(self._done, item.work_id))

    def _done(self, work_id: int, task: asyncio.Task[None]) -> None:
        self._running.pop(work_id, None)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "preheat work crashed", extra={"work_id": work_id}, exc_info=task.exception()
            )

    async def _run(self, item: WorkItem, scheduler_id: int) -> None:
        work = _Work(item)
        args = item.args
        logger.info(
            "preheat started",
            extra={"job_id": item.job_id, "work_id": item.work_id, "url": redacted_url(args.url)},
        )
        reporter = asyncio.create_task(self._report_progress(work, scheduler_id))
        try:
            async with asyncio.timeout(max(0.0, args.deadline - self._clock())):
                result = await self._preheat(work)
        except TimeoutError:
            result = self._failed(work, "timeout: the job did not finish before its deadline")
        except errors.SwarmflyError as exc:
            result = self._failed(work, str(exc))
        except Exception as exc:  # the top of an owned task: the job must end, not hang
            logger.exception("preheat failed unexpectedly", extra={"job_id": item.job_id})
            result = self._failed(work, f"internal error: {exc}")
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
        await asyncio.shield(self._send_result(item, result, scheduler_id))

    @staticmethod
    def _failed(work: _Work, error: str) -> WorkResult:
        for blob in work.blobs:
            if blob.state is BlobState.PENDING:
                blob.state, blob.description = BlobState.FAILURE, error
        return WorkResult(success=False, error=error, blobs=[b.result() for b in work.blobs])

    async def _send_result(self, item: WorkItem, result: WorkResult, scheduler_id: int) -> None:
        logger.info(
            "preheat finished",
            extra={"job_id": item.job_id, "success": result.success, "error": result.error},
        )
        try:
            await self._manager.result(item.work_id, result, scheduler_id=scheduler_id)
        except errors.SwarmflyError as exc:
            # The lease lapses and another scheduler runs the job again: nothing is lost.
            logger.warning(
                "could not report the result", extra={"job_id": item.job_id, "error": str(exc)}
            )

    async def _report_progress(self, work: _Work, scheduler_id: int) -> None:
        """Renew the lease a few times per lease; a cancelled job stops the work."""
        current = asyncio.current_task()
        assert current is not None
        while True:
            await asyncio.sleep(work.item.lease_seconds / 3)
            self._refresh_progress(work)
            progress = WorkProgress(blobs=[blob.result() for blob in work.blobs])
            try:
                lease = await self._manager.progress(
                    work.item.work_id, progress, scheduler_id=scheduler_id
                )
            except errors.SwarmflyError as exc:
                logger.warning("could not renew the lease", extra={"error": str(exc)})
                continue
            if lease.cancelled:
                logger.info("preheat cancelled", extra={"job_id": work.item.job_id})
                self._running[work.item.work_id].cancel()
                return

    def _refresh_progress(self, work: _Work) -> None:
        for blob in work.blobs:
            peer = self._service.state.peers.get(blob.peer_id)
            if peer is None or blob.state is not BlobState.PENDING:
                continue
            task = self._service.state.tasks.get(peer.task_id)
            if task is not None and task.piece_length:
                done = peer.finished_pieces * task.piece_length
                blob.bytes_done = min(done, task.content_length or done)

    async def _preheat(self, work: _Work) -> WorkResult:
        args = work.item.args
        work.blobs = await self._resolve(args)
        semaphore = asyncio.Semaphore(max(1, args.concurrent_count))

        async def one(blob: _Blob) -> list[_Blob]:
            async with semaphore:
                if args.type == "image":
                    # A registry token may expire during a long job: fresh headers per order.
                    headers = await self._registry.blob_headers(
                        args.url,
                        headers=args.headers,
                        username=args.username or None,
                        password=args.password or None,
                    )
                    blob.spec = blob.spec.model_copy(update={"headers": list(headers.items())})
                return await self._seed(blob, args.scope)

        placed = [b for group in await asyncio.gather(*(one(b) for b in work.blobs)) for b in group]
        work.blobs = placed
        failed = [blob for blob in placed if blob.state is not BlobState.SUCCESS]
        error = "; ".join(f"{b.spec.url}: {b.description}" for b in failed[:3])
        return WorkResult(success=not failed, error=error, blobs=[b.result() for b in placed])

    async def _resolve(self, args: PreheatArgs) -> list[_Blob]:
        filtered = (
            list(idgen.DEFAULT_FILTERED_QUERY_PARAMS)
            if not args.filtered_query_params
            else args.filtered_query_params
        )

        def spec(url: str, headers: dict[str, str], digest: str | None) -> TaskSpec:
            task_id = idgen.task_id(
                url,
                tag=args.tag,
                application=args.application,
                piece_length=args.piece_length,
                filtered_query_params=filtered,
            )
            return TaskSpec(
                task_id=task_id,
                url=url,
                headers=list(headers.items()),
                tag=args.tag,
                application=args.application,
                filtered_query_params=filtered,
                piece_length=args.piece_length,
                digest=digest,
            )

        if args.type == "file":
            return [_Blob(spec(url, args.headers, None)) for url in [args.url, *args.urls] if url]
        image = await self._registry.resolve_image(
            args.url,
            platform=args.platform or None,
            headers=args.headers,
            username=args.username or None,
            password=args.password or None,
        )
        headers = dict(image.headers_for_blobs)
        return [_Blob(spec(b.url, headers, b.digest), size=b.size) for b in image.blobs]

    async def _seed(self, blob: _Blob, scope: PreheatScope) -> list[_Blob]:
        """Order seed peers to fetch ``blob``; one result per seed peer ordered."""
        targets = self._service.seed_targets(blob.spec.task_id)
        if not targets:
            blob.state, blob.description = BlobState.FAILURE, "no seed peer is alive in the cluster"
            return [blob]
        if scope is PreheatScope.SINGLE_SEED_PEER:
            return [await self._seed_one(blob, targets)]
        copies = [_Blob(blob.spec, size=blob.size, host=target) for target in targets]
        return list(await asyncio.gather(*(self._seed_one(c, [c.host]) for c in copies if c.host)))

    async def _seed_one(self, blob: _Blob, targets: list[HostInfo]) -> _Blob:
        """Have one of ``targets`` fetch the blob; a seed peer that goes away mid-download is
        replaced by the next live one (a seed that failed the download itself is not: the
        source said no, and another seed would hear the same)."""
        remaining = list(targets)
        while remaining:
            placement = await self._service.place_seed(blob.spec, remaining)
            if placement is None:
                blob.state = BlobState.FAILURE
                blob.description = (
                    "no seed peer accepted the download order (unreachable or refused)"
                )
                return blob
            blob.peer_id = placement.peer_id
            blob.host = next((t for t in remaining if t.host_id == placement.host_id), None)
            peer = await self._service.wait_peer_done(placement.peer_id)
            if peer is not None:
                return self._settle(blob, peer)
            logger.warning(
                "seed peer went away; ordering another",
                extra={"task_id": blob.spec.task_id, "host_id": placement.host_id},
            )
            remaining = [t for t in remaining if t.host_id != placement.host_id]
        blob.state, blob.description = BlobState.FAILURE, "the seed peer went away"
        return blob

    def _settle(self, blob: _Blob, peer: Peer) -> _Blob:
        if peer.is_complete:
            blob.state = BlobState.SUCCESS
            task = self._service.state.tasks.get(peer.task_id)
            blob.size = blob.size or (task.content_length if task else None)
            blob.bytes_done = blob.size or 0
        else:
            blob.state = BlobState.FAILURE
            blob.description = peer.error or "the seed peer failed the download"
        return blob
