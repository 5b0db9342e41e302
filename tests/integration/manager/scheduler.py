"""A scheduler reduced to what the manager sees of it: register, claim, report, finish, all
through ``ManagerClient``, as the scheduler's preheat worker will."""

from __future__ import annotations

from dataclasses import dataclass

from swarmfly.wire.manager import (
    BlobResult,
    BlobState,
    ClaimWork,
    RegisterScheduler,
    SeedPeerInfo,
    WorkItem,
    WorkProgress,
    WorkResult,
)
from swarmfly.wire.manager_client import ManagerClient

SEED = SeedPeerInfo(
    host_id="127.0.0.1-seed-1",
    hostname="seed-1",
    ip="127.0.0.1",
    control_port=4003,
    upload_port=4000,
)


@dataclass
class FakeScheduler:
    client: ManagerClient
    id: int
    cluster_id: int

    @classmethod
    async def join(
        cls, client: ManagerClient, *, cluster_id: int = 1, name: str = "scheduler-1"
    ) -> FakeScheduler:
        registered = await client.register(
            RegisterScheduler(
                hostname=name, ip="127.0.0.1", port=8002, cluster_id=cluster_id, seed_peers=[SEED]
            )
        )
        return cls(client, registered.scheduler_id, registered.cluster_id)

    async def claim(self) -> WorkItem | None:
        return await self.client.claim(ClaimWork(scheduler_id=self.id, cluster_id=self.cluster_id))

    @staticmethod
    def blob(
        digest: str, state: BlobState = BlobState.PENDING, description: str = ""
    ) -> BlobResult:
        done = state is BlobState.SUCCESS
        return BlobResult(
            url=f"https://registry.test:5000/v2/test/team/app/blobs/sha256:{digest}",
            task_id=digest,
            hostname=SEED.hostname,
            ip=SEED.ip,
            size=1 << 20,
            bytes_done=(1 << 20) if done else 0,
            state=state,
            description=description,
        )

    async def preheat(self, work: WorkItem, digests: list[str], *, fail: str = "") -> None:
        """Report the blobs pending, then finished (or the last one failed with ``fail``)."""
        pending = [self.blob(d) for d in digests]
        lease = await self.client.progress(
            work.work_id, WorkProgress(blobs=pending), scheduler_id=self.id
        )
        assert not lease.cancelled
        done = [self.blob(d, BlobState.SUCCESS) for d in digests]
        if fail:
            done[-1] = self.blob(digests[-1], BlobState.FAILURE, fail)
        result = WorkResult(success=not fail, error=fail, blobs=done)
        await self.client.result(work.work_id, result, scheduler_id=self.id)
