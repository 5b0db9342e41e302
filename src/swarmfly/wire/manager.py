"""The manager's internal API for schedulers (``/api/v1/…`` on port 8080; the Open API for
people and Harbor is ``/oapi/v1/…``, see ``manager/openapi``).

The database behind the manager is the job queue; schedulers never touch it, they go through
these calls (a role talks to another only through that role's client):

1. ``POST /api/v1/schedulers`` (``RegisterScheduler``) when a scheduler starts, then
   ``POST /api/v1/schedulers/{scheduler_id}/keepalive`` every ``keepalive_interval``: the
   manager knows which schedulers serve which cluster, and which seed peers they have.
2. ``POST /api/v1/jobs/claim`` (``ClaimWork``): the scheduler asks for preheat work for its
   cluster, and may wait ``wait_seconds`` for some to arrive (a long poll). The answer
   (``WorkClaim``) holds at most one work item (one job, for one cluster), claimed with a
   lease in a single conditional UPDATE:
   ``UPDATE job_tasks SET owner=:me, lease_until=:t WHERE id=:id AND (lease_until IS NULL OR
   lease_until < :now)``, then the rowcount is checked, as arq claims its jobs.
3. ``POST /api/v1/jobs/work/{work_id}/progress`` (``WorkProgress``) while it runs: renews the
   lease and stores per-blob progress (a lapsed lease lets another scheduler claim it again).
   The answer says whether the work was cancelled (the job deleted).
4. ``POST /api/v1/jobs/work/{work_id}/result`` (``WorkResult``): the terminal state, written
   once; the job is SUCCESS when every cluster's work succeeded, FAILURE as soon as one failed.

Progress and result calls name their sender with ``?scheduler_id=`` (``SCHEDULER_ID_PARAM``):
a scheduler whose lease lapsed and whose work another scheduler claimed since is answered 409
(stop); a result for work that already ended (a result was written, its deadline passed, its
job was deleted) is 409 too.

A lease holder that stops renewing loses the work after ``lease_seconds``; a job that is not
finished by its deadline (``timeout``) is FAILURE with that reason, whoever holds it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

SCHEDULERS_PATH = "/api/v1/schedulers"
SCHEDULER_KEEPALIVE_PATH = "/api/v1/schedulers/{scheduler_id}/keepalive"
CLAIM_PATH = "/api/v1/jobs/claim"
WORK_PROGRESS_PATH = "/api/v1/jobs/work/{work_id}/progress"
WORK_RESULT_PATH = "/api/v1/jobs/work/{work_id}/result"
SCHEDULER_ID_PARAM = "scheduler_id"


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SeedPeerInfo(Message):
    host_id: str
    hostname: str
    ip: str
    control_port: int
    upload_port: int


class RegisterScheduler(Message):
    hostname: str
    ip: str
    port: int
    cluster_id: int = 1
    seed_peers: list[SeedPeerInfo] = Field(default_factory=list)


class SchedulerRegistered(Message):
    scheduler_id: int
    cluster_id: int
    keepalive_interval: float


class SchedulerKeepAlive(Message):
    seed_peers: list[SeedPeerInfo] = Field(default_factory=list)


class PreheatScope(StrEnum):
    SINGLE_SEED_PEER = "single_seed_peer"
    ALL_SEED_PEERS = "all_seed_peers"
    ALL_PEERS = "all_peers"


class PreheatArgs(Message):
    """A preheat job's arguments, normalised by the manager (secrets included: internal API)."""

    type: str  # image | file
    url: str = ""
    urls: list[str] = Field(default_factory=list)
    tag: str = ""
    application: str = ""
    filtered_query_params: list[str] | None = None  # None: the default list
    headers: dict[str, str] = Field(default_factory=dict)
    username: str = ""
    password: str = ""
    platform: str = ""  # os/arch[/variant]; empty means linux/amd64 for an index
    piece_length: int | None = None
    scope: PreheatScope = PreheatScope.SINGLE_SEED_PEER
    concurrent_count: int = 8
    deadline: float  # unix time by which the job must be finished


#: The longest a claim may wait at the manager for work to arrive.
MAX_CLAIM_WAIT = 60.0


class ClaimWork(Message):
    scheduler_id: int
    cluster_id: int
    # With nothing to claim, hold the answer up to this long for work to arrive (long poll).
    wait_seconds: float = Field(default=0.0, ge=0.0, le=MAX_CLAIM_WAIT)


class WorkItem(Message):
    work_id: int  # one job, for one cluster
    job_id: int
    cluster_id: int
    args: PreheatArgs
    lease_seconds: float


class WorkClaim(Message):
    work: WorkItem | None = None


class BlobState(StrEnum):
    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class BlobResult(Message):
    """One blob (or file) of a preheat on one seed peer."""

    url: str
    task_id: str
    hostname: str = ""
    ip: str = ""
    size: int | None = None
    bytes_done: int = 0
    state: BlobState = BlobState.PENDING
    description: str = ""  # why it failed


class WorkProgress(Message):
    blobs: list[BlobResult] = Field(default_factory=list)


class WorkLease(Message):
    lease_seconds: float
    cancelled: bool = False  # the job was deleted: stop


class WorkResult(Message):
    success: bool
    error: str = ""  # why the work failed, in plain words
    blobs: list[BlobResult] = Field(default_factory=list)
