"""HTTP/1.1 over plain TCP, on worker threads: the fast way in for back-to-source bytes.

An event loop reads a socket a quarter MiB at a time into a fresh ``bytes`` each time, and
every one of those passes through the loop's callbacks before it reaches the disk; on this
kind of machine that caps a download near 650 MiB/s. A thread that reads into one reusable
buffer and writes it out (see :meth:`PlainResponse.readinto` and
:meth:`swarmfly.source.response.SourceResponse.pump`) moves the same bytes about twice as
fast, with the GIL released for every ``recv``. So requests to ``http://`` sources are sent
here, with the standard library's ``http.client`` on a small pool of kept-alive connections;
``https://`` stays on aiohttp (see :mod:`swarmfly.source.fetch`).

Errors are left as they are (``OSError``, ``TimeoutError``, ``http.client.HTTPException``):
callers run each call inside :func:`~swarmfly.source.errors.translating_errors`.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import socket
import threading
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress

from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from swarmfly import __version__

#: Idle kept-alive connections kept per host and port.
MAX_IDLE_PER_ORIGIN = 8

#: What one ``read``/``readchunk`` asks the socket for (the pump brings its own buffer).
READ_SIZE = 1 << 20

USER_AGENT = f"swarmfly/{__version__}"

_Origin = tuple[str, int]

#: A kept-alive connection that turns out closed fails with one of these before any answer.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class PlainResponse:
    """An answer from :class:`PlainHTTP` with its body unread.

    :meth:`read` and :meth:`readchunk` suit the event loop; :meth:`readinto` is for a worker
    thread (the pump). :meth:`release` gives the connection back when the body was read to
    the end, and closes it otherwise; :meth:`abort` may be called from any thread and makes
    a blocked read return at once.
    """

    def __init__(
        self,
        transport: PlainHTTP,
        origin: _Origin,
        connection: http.client.HTTPConnection,
        raw: http.client.HTTPResponse,
        url: URL,
        read_timeout: float,
    ) -> None:
        self.status = raw.status
        self.reason = raw.reason
        self.url = url
        self.headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict(raw.getheaders()))
        self._transport = transport
        self._origin = origin
        self._connection: http.client.HTTPConnection | None = connection
        self._raw = raw
        self._read_timeout = read_timeout
        self._pending_error: BaseException | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The threads that may block on this response's socket."""
        return self._transport.executor

    def bound_wait(self, seconds: float | None) -> None:
        """Let the next reads wait at most ``seconds`` (the request's remaining budget) as
        well as the read timeout; None: the read timeout alone."""
        connection = self._connection
        if connection is None or connection.sock is None:
            return
        wait = self._read_timeout if seconds is None else min(self._read_timeout, seconds)
        connection.sock.settimeout(max(wait, 0.001))

    def readinto(self, buffer: memoryview) -> int:
        """Blocking: fill ``buffer`` from the body; less at its end, 0 past it.

        A read that fails after some bytes arrived returns those first and raises on the
        next call, so a resume starts after the last byte received, not the last buffer.
        """
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise error
        raw = self._raw
        if raw.chunked or raw.length is None or raw.fp is None:
            # Rare (chunked, or ended by the close): one read at a time, so none is lost.
            data = raw.read1(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        buffer = buffer[: raw.length]
        got = 0
        while got < len(buffer):
            try:
                count = raw.fp.readinto1(buffer[got:])
            except BaseException as exc:
                if not got:
                    raise
                self._pending_error = exc
                break
            if not count:
                if got:
                    break
                raise http.client.IncompleteRead(b"", raw.length)
            got += count
        raw.length -= got
        if not raw.length:
            raw.read()  # the body is complete: lets the connection be kept alive
        return got

    async def read(self, size: int = READ_SIZE) -> bytes:
        """Up to ``size`` bytes of the body, as one read delivered them; empty at the end."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self._raw.read1, size)

    async def readchunk(self) -> bytes:
        """The next bytes the network delivered; empty at the end of the body."""
        return await self.read(READ_SIZE)

    async def read_all(self) -> bytes:
        """The whole (bounded) body in one object, read on a worker thread: for a body the
        caller holds anyway, such as a piece from a parent. Raises ``IncompleteRead`` when
        the body ends short."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self._raw.read)

    def abort(self) -> None:
        """Shut the socket down, so a thread blocked reading it returns now; thread-safe."""
        connection = self._connection
        if connection is not None:
            _wake_readers(connection)

    def release(self) -> None:
        """Keep the connection for the next request if its body was read whole, else close."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._raw.isclosed() and not self._raw.will_close:
            self._transport.keep(self._origin, connection)
            return
        _wake_readers(connection)  # a thread may still be reading the rest: not under it
        connection.close()


class PlainHTTP:
    """Sends ``http://`` requests on worker threads, keeping connections alive per origin."""

    def __init__(self, *, max_connections: int = 100) -> None:
        self.executor = ThreadPoolExecutor(
            max_workers=max_connections, thread_name_prefix="swarmfly-source"
        )
        self._idle: defaultdict[_Origin, list[http.client.HTTPConnection]] = defaultdict(list)
        self._lock = threading.Lock()
        self._closed = False

    async def send(
        self,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> PlainResponse:
        """Send ``method url`` with ``headers`` (repeats kept); the body is left unread.

        Cancelling the caller does not strand the connection: whatever the thread ends up
        with is closed.
        """
        loop = asyncio.get_running_loop()
        future = self.executor.submit(
            self._send, method, url, headers, connect_timeout, read_timeout
        )
        try:
            return await asyncio.wrap_future(future, loop=loop)
        except asyncio.CancelledError:
            future.add_done_callback(_close_unclaimed)
            raise

    def keep(self, origin: _Origin, connection: http.client.HTTPConnection) -> None:
        """Park an idle connection for reuse (or close it when there is no room)."""
        with self._lock:
            idle = self._idle[origin]
            if not self._closed and len(idle) < MAX_IDLE_PER_ORIGIN:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close idle connections and let the threads go once their work ends."""
        with self._lock:
            self._closed = True
            idle = [connection for pool in self._idle.values() for connection in pool]
            self._idle.clear()
        for connection in idle:
            connection.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def _take(self, origin: _Origin) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(origin)
            return idle.pop() if idle else None

    def _send(
        self,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        connect_timeout: float,
        read_timeout: float,
    ) -> PlainResponse:
        host = url.raw_host or ""
        port = url.port or 80
        origin = (host, port)
        while True:
            reused = self._take(origin)
            connection = reused or http.client.HTTPConnection(host, port, timeout=connect_timeout)
            try:
                if connection.sock is None:
                    connection.connect()
                assert connection.sock is not None
                connection.sock.settimeout(read_timeout)
                _put_request(connection, method, url, headers)
                raw = connection.getresponse()
            except _STALE:
                connection.close()
                if reused is not None:
                    continue  # the server closed it while it sat idle: one fresh try
                raise
            except BaseException:
                connection.close()
                raise
            return PlainResponse(self, origin, connection, raw, url, read_timeout)


def _put_request(
    connection: http.client.HTTPConnection,
    method: str,
    url: URL,
    headers: list[tuple[str, str]],
) -> None:
    connection.putrequest(method, url.raw_path_qs or "/", skip_host=True, skip_accept_encoding=True)
    names = {name.lower() for name, _ in headers}
    if url.raw_user is not None and "authorization" not in names:
        # Credentials in the URL (http://user:pass@host/) go as Basic auth, as aiohttp does.
        pair = f"{url.user or ''}:{url.password or ''}".encode()
        connection.putheader("Authorization", "Basic " + base64.b64encode(pair).decode())
    if "host" not in names:
        connection.putheader("Host", url.host_port_subcomponent or "")  # never the userinfo
    if "user-agent" not in names:
        connection.putheader("User-Agent", USER_AGENT)
    if "accept" not in names:
        connection.putheader("Accept", "*/*")
    for name, value in headers:
        connection.putheader(name, value)
    connection.endheaders()


def _wake_readers(connection: http.client.HTTPConnection) -> None:
    """Shut the connection's socket down: a thread blocked reading it returns at once."""
    if connection.sock is not None:
        with suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)


def _close_unclaimed(future: Future[PlainResponse]) -> None:
    """A response whose caller was cancelled while it was sent: nobody will release it."""
    if not future.cancelled() and future.exception() is None:
        response = future.result()
        response.abort()
        response.release()
