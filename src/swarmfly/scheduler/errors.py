"""The scheduler's errors, each under the category that decides its HTTP status.

A daemon that gets 404 for its host registers again; for its peer, it announces again.

    NotFound
    ├── HostNotFound      the host never registered, or was dropped (register again)
    └── PeerNotFound      the peer never announced, left, or went with its host
    Conflict
    └── PeerConflict      a peer ID reused for another task or host, or after it finished
"""

from __future__ import annotations

from swarmfly.errors import Conflict, NotFound


class HostNotFound(NotFound):
    def __init__(self, host_id: str) -> None:
        super().__init__(f"unknown host {host_id!r}: register it first")
        self.host_id = host_id


class PeerNotFound(NotFound):
    def __init__(self, peer_id: str) -> None:
        super().__init__(f"unknown peer {peer_id!r}: announce it first")
        self.peer_id = peer_id


class PeerConflict(Conflict):
    """A request that the peer's recorded task, host or state forbids."""
