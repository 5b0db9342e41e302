"""The scheduler's API (port 8002): hosts keep alive, peers ask whom to download from.

One message type per request and answer, validated on both sides. The flow for one task:

1. ``POST /api/v1/hosts`` once per daemon (``RegisterHost``), then ``KeepAlive`` to
   ``POST /api/v1/hosts/{host_id}/keepalive`` every ``keepalive_interval`` seconds; a host
   that stops sending them is dropped with its peers, and its next keepalive gets 404 (register
   again). ``DELETE /api/v1/hosts/{host_id}`` when the daemon stops.
2. ``POST /api/v1/peers`` (``AnnouncePeer``): "I want this task". The answer
   (``PeerAssignment``) lists candidate parents, best first, or says ``back_to_source``. For a
   task nobody holds yet the scheduler orders a seed peer to fetch it (the daemon's
   ``POST /api/v1/seed/tasks``, ``SeedOrder``) and lists that seed as the parent at once: its
   pieces can be followed as they land.
3. ``POST /api/v1/peers/{peer_id}/pieces`` (``ReportPieces``) in batches as pieces land, so
   the peer becomes a parent for others.
4. ``POST /api/v1/peers/{peer_id}/parents`` (``Reschedule``) when parents fail or stall; the
   bad ones are blocklisted for this task.
5. ``POST /api/v1/peers/{peer_id}/result`` (``ReportResult``) at the end.
6. ``DELETE /api/v1/peers/{peer_id}`` when the peer's content is gone (evicted, or the
   download abandoned): it stops being a parent.

A seed peer given a ``SeedOrder`` reports its pieces and result under the order's ``peer_id``
(steps 3 and 5); it need not announce, and if it does, with that ``peer_id``, it is told
``back_to_source``. Requests for an unknown host or peer get 404; the leave requests succeed
(204) whether or not the scheduler still knew the host or peer.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

#: Paths of the scheduler's API, shared by its handlers and ``SchedulerClient``.
HOSTS_PATH = "/api/v1/hosts"
HOST_PATH = "/api/v1/hosts/{host_id}"
HOST_KEEPALIVE_PATH = "/api/v1/hosts/{host_id}/keepalive"
PEERS_PATH = "/api/v1/peers"
PEER_PATH = "/api/v1/peers/{peer_id}"
PEER_PIECES_PATH = "/api/v1/peers/{peer_id}/pieces"
PEER_PARENTS_PATH = "/api/v1/peers/{peer_id}/parents"
PEER_RESULT_PATH = "/api/v1/peers/{peer_id}/result"
#: On a seed peer's control port.
SEED_TASKS_PATH = "/api/v1/seed/tasks"


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class HostLoad(Message):
    """How busy a host's piece server is: the scheduler prefers idle parents."""

    upload_slots: int = 50  # upload.concurrentLimit
    active_uploads: int = 0
    upload_bytes_per_second: float = 0.0  # recent rate
    upload_successes: int = 0
    upload_failures: int = 0


class HostInfo(Message):
    host_id: str  # idgen.host_id(ip, hostname, is_seed=...)
    hostname: str
    ip: str
    upload_port: int  # the piece server
    control_port: int  # seed peers take download orders here
    is_seed: bool = False
    seed_type: str = ""  # super | strong | weak, for seed peers
    idc: str = ""
    location: str = ""  # "country|province|city"
    load: HostLoad = Field(default_factory=HostLoad)


class RegisterHost(Message):
    host: HostInfo


class HostRegistered(Message):
    host_id: str
    keepalive_interval: float  # seconds between KeepAlive messages
    scheduler_id: str = ""


class KeepAlive(Message):
    load: HostLoad = Field(default_factory=HostLoad)


class TaskSpec(Message):
    """What a task is and how to fetch it from its source (for seed peers and back-to-source)."""

    task_id: str
    url: str
    headers: list[tuple[str, str]] = Field(default_factory=list)
    tag: str = ""
    application: str = ""
    filtered_query_params: list[str] | None = None
    piece_length: int | None = None
    digest: str | None = None
    use_blob_digest: bool = True  # OCI blob URLs are named by their digest


class AnnouncePeer(Message):
    peer_id: str
    host_id: str
    task: TaskSpec
    need_back_to_source: bool = False  # the peer asks to go to the source itself


class Parent(Message):
    peer_id: str
    host_id: str
    ip: str
    upload_port: int
    is_seed: bool = False
    finished_pieces: int = 0
    is_complete: bool = False


class Action(StrEnum):
    PARENTS = "parents"  # download from ``parents``
    BACK_TO_SOURCE = "back_to_source"  # nobody can serve it: fetch from the source


class PeerAssignment(Message):
    action: Action
    parents: list[Parent] = Field(default_factory=list)
    content_length: int | None = None  # when some peer already knows it
    piece_length: int | None = None
    reason: str = ""  # why back-to-source, for the logs


class ReportPieces(Message):
    pieces: list[int]  # numbers of newly finished pieces
    content_length: int | None = None
    piece_length: int | None = None
    parent_id: str | None = None  # where they came from (None: the source)


class BadParent(Message):
    peer_id: str
    reason: str  # corrupt | failed | slow


class Reschedule(Message):
    bad_parents: list[BadParent] = Field(default_factory=list)
    #: Parents the peer keeps downloading from. Empty: it wants a whole new set (every parent
    #: it had failed). Otherwise it wants more, and the answer names new parents only (maybe
    #: none, and never "go back to source").
    current_parents: list[str] = Field(default_factory=list)


class ReportResult(Message):
    success: bool
    content_length: int | None = None
    piece_length: int | None = None
    error: str = ""


class SeedOrder(Message):
    """``POST /api/v1/seed/tasks`` on a seed peer's control API: fetch this task from the source."""

    peer_id: str  # the scheduler already lists this peer as a parent
    task: TaskSpec


class SeedOrderAccepted(Message):
    task_id: str
    peer_id: str
    state: str  # running | succeeded
