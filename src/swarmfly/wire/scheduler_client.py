"""Typed clients for the scheduler's API (daemons use ``SchedulerClient``) and for the seed
peer's download orders (the scheduler uses ``SeedClient``).

Every call has its own deadline. Failures come back as our error tree: a deadline is
``errors.Timeout``, a connection that cannot be made or is cut is ``errors.Unavailable``, and an
error status is the category it stands for (``errors.NotFound`` for an unknown host or peer:
register again), via :func:`swarmfly.wire.errors.error_from_response`.
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import quote

import aiohttp
from yarl import URL

from swarmfly.wire.exchange import exchange, parse_answer
from swarmfly.wire.scheduler import (
    HOST_KEEPALIVE_PATH,
    HOST_PATH,
    HOSTS_PATH,
    PEER_PARENTS_PATH,
    PEER_PATH,
    PEER_PIECES_PATH,
    PEER_RESULT_PATH,
    PEERS_PATH,
    SEED_TASKS_PATH,
    AnnouncePeer,
    HostRegistered,
    KeepAlive,
    Message,
    PeerAssignment,
    RegisterHost,
    ReportPieces,
    ReportResult,
    Reschedule,
    SeedOrder,
    SeedOrderAccepted,
)

M = TypeVar("M", bound=Message)

#: Seconds for a bookkeeping call (register, keepalive, reports, leaves).
DEFAULT_TIMEOUT = 10.0
#: Seconds for a call that may wait for a seed peer to accept an order (announce, reschedule).
SCHEDULE_TIMEOUT = 30.0
#: Seconds for a seed peer to accept a download order.
SEED_ORDER_TIMEOUT = 10.0


def _segment(value: str) -> str:
    return quote(value, safe="")


class SchedulerClient:
    """Talks to one scheduler. ``base_url`` is ``http://host:port`` (a bare ``host:port`` too)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        schedule_timeout: float = SCHEDULE_TIMEOUT,
    ) -> None:
        self._session = session
        url = base_url if "://" in base_url else f"http://{base_url}"
        self.base_url = url.rstrip("/")
        self._timeout = timeout
        self._schedule_timeout = schedule_timeout

    async def register_host(self, message: RegisterHost) -> HostRegistered:
        return await self._call("POST", HOSTS_PATH, message, HostRegistered)

    async def keepalive(self, host_id: str, message: KeepAlive) -> None:
        """Raises ``errors.NotFound`` when the scheduler does not know the host: register again."""
        await self._send("POST", HOST_KEEPALIVE_PATH.format(host_id=_segment(host_id)), message)

    async def leave_host(self, host_id: str) -> None:
        await self._send("DELETE", HOST_PATH.format(host_id=_segment(host_id)), None)

    async def announce_peer(self, message: AnnouncePeer) -> PeerAssignment:
        """Raises ``errors.NotFound`` when the scheduler does not know the peer's host."""
        return await self._call(
            "POST", PEERS_PATH, message, PeerAssignment, time_limit=self._schedule_timeout
        )

    async def report_pieces(self, peer_id: str, message: ReportPieces) -> None:
        await self._send("POST", PEER_PIECES_PATH.format(peer_id=_segment(peer_id)), message)

    async def reschedule(self, peer_id: str, message: Reschedule) -> PeerAssignment:
        path = PEER_PARENTS_PATH.format(peer_id=_segment(peer_id))
        return await self._call(
            "POST", path, message, PeerAssignment, time_limit=self._schedule_timeout
        )

    async def report_result(self, peer_id: str, message: ReportResult) -> None:
        await self._send("POST", PEER_RESULT_PATH.format(peer_id=_segment(peer_id)), message)

    async def leave_peer(self, peer_id: str) -> None:
        await self._send("DELETE", PEER_PATH.format(peer_id=_segment(peer_id)), None)

    async def _send(self, method: str, path: str, body: Message | None) -> None:
        url = f"{self.base_url}{path}"
        await exchange(
            self._session, method, url, body, time_limit=self._timeout, who="the scheduler"
        )

    async def _call(
        self,
        method: str,
        path: str,
        body: Message,
        answer: type[M],
        *,
        time_limit: float | None = None,
    ) -> M:
        url = f"{self.base_url}{path}"
        raw = await exchange(
            self._session,
            method,
            url,
            body,
            time_limit=self._timeout if time_limit is None else time_limit,
            who="the scheduler",
        )
        return parse_answer(answer, raw, who="the scheduler", url=url)


class SeedClient:
    """Sends download orders to seed peers' control ports (``POST /api/v1/seed/tasks``)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def order(
        self,
        host_ip: str,
        control_port: int,
        message: SeedOrder,
        *,
        time_limit: float = SEED_ORDER_TIMEOUT,
    ) -> SeedOrderAccepted:
        """The seed peer's acceptance (200 or 202); any failure is raised as its category."""
        url = str(URL.build(scheme="http", host=host_ip, port=control_port, path=SEED_TASKS_PATH))
        raw = await exchange(
            self._session, "POST", url, message, time_limit=time_limit, who="the seed peer"
        )
        return parse_answer(SeedOrderAccepted, raw, who="the seed peer", url=url)
