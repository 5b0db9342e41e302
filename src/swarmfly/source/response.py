"""A streaming source response that survives dropped connections without yielding wrong bytes.

When a body breaks off (payload error, reset, read timeout, or an early EOF), the response asks
the source again for the rest, ``Range`` from the next byte, with ``If-Range`` bound to the
first answer's validator, and carries on. It yields a byte only when it can prove it is the
next one: a resumed answer must be a 206 starting exactly there, for an object of the same
length and validator. Anything else (a 200 because ranges are not served, or because the
object changed) ends the stream with :class:`SourceUnavailable`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from multidict import CIMultiDictProxy

from swarmfly.logs import redacted_url
from swarmfly.ratelimit import RateLimiter, throttle
from swarmfly.source.errors import (
    RangeNotSatisfiable,
    SourceStatusError,
    SourceTimeout,
    SourceUnavailable,
    translating_errors,
)
from swarmfly.source.fetch import Deadline, Fetcher, Sleep
from swarmfly.source.headers import resume_validator
from swarmfly.source.plain_http import PlainResponse
from swarmfly.source.ranges import ByteRange
from swarmfly.source.raw import RawResponse
from swarmfly.source.request import SourceRequest
from swarmfly.source.retry import RetryPolicy, is_retryable, retry_after_of
from swarmfly.source.window import BodyWindow, body_window

logger = logging.getLogger(__name__)

#: Called on a worker thread with each run of body bytes, in order; what it raises ends the pump.
Sink = Callable[[memoryview], None]

#: The size of each of the pump's buffers (one per download, more when the sink keeps views).
PUMP_BUFFER_SIZE = 1 << 20

#: Chunks handed to the sink's thread and not yet taken, on the event-loop path.
_SINK_BACKLOG = 4


@dataclass(frozen=True)
class SourceMetadata:
    """What a source says about an object, without its body (the answer to a HEAD)."""

    status: int
    headers: CIMultiDictProxy[str]
    url: str
    content_length: int | None
    total_length: int | None
    start: int
    accepts_ranges: bool


@dataclass(frozen=True)
class ResumeContext:
    """What a response needs to ask the source again: the fetcher and the request's limits."""

    fetcher: Fetcher
    request: SourceRequest
    deadline: Deadline
    retry: RetryPolicy
    sleep: Sleep
    rate_limiter: RateLimiter | None


class SourceResponse:
    """An open 200/206 from a source; read it with :meth:`iter_chunks` inside ``client.get``.

    ``start`` and ``content_length`` describe exactly the bytes :meth:`iter_chunks` yields;
    ``total_length`` is the whole object's length when the source told it.
    """

    def __init__(self, raw: RawResponse, window: BodyWindow, context: ResumeContext) -> None:
        self.status = window.status
        self.headers: CIMultiDictProxy[str] = raw.headers
        self.url = str(raw.url)
        self.content_length = window.content_length
        self.total_length = window.total_length
        self.start = window.start
        self.accepts_ranges = window.accepts_ranges
        self._raw: RawResponse | None = raw
        self._context = context
        self._end = window.end
        self._position = window.wire_start  # object offset of the next byte on the wire
        self._validator = resume_validator(raw.headers)
        self._resumable = raw.headers.get("Accept-Ranges", "").strip().lower() != "none"
        self._leftover = b""  # received from the wire, not yet handed out

    async def iter_chunks(self, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """The body in chunks of at most ``chunk_size`` bytes, resumed across drops.

        Chunk boundaries carry no meaning. Raises :class:`SourceUnavailable` or
        :class:`SourceTimeout` when the rest cannot be had (or proven to be the same object).
        """
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        while self._end is None or self._position < self._end:
            chunk = await self._next_chunk(chunk_size)
            if not chunk:
                return
            await throttle(self._context.rate_limiter, len(chunk))
            yield chunk

    async def pump(self, sink: Sink, *, keeps: int = 0) -> None:
        """Hand the whole window to ``sink``, in order, resumed across drops as
        :meth:`iter_chunks` is; returns at its end.

        From a plain ``http://`` source without a rate limit, one worker thread reads the
        socket into reused buffers and calls ``sink`` itself, so the bytes never pass through
        the event loop. Otherwise chunks are read here and ``sink`` runs on a thread of its
        own, a few chunks behind. ``sink`` is never called again once this returns or raises.

        The view ``sink`` gets is valid until ``sink`` has been called ``keeps`` more times:
        a sink that hands the bytes on to another thread (a digest) keeps up to ``keeps``
        views without copying them, and waits before it takes one more.
        """
        if keeps < 0:
            raise ValueError("keeps must not be negative")
        failures = 0
        progress = self._position
        while self._end is None or self._position < self._end:
            try:
                if self._raw is None:
                    await self._reopen()
                raw = self._raw
                fast = self._context.rate_limiter is None and not self._leftover
                if isinstance(raw, PlainResponse) and fast:
                    await _on_thread(
                        raw.executor, self._pump_blocking, raw, sink, keeps + 1, raw.abort
                    )
                else:
                    await self._pump_chunks(sink)
                return
            except (SourceUnavailable, SourceTimeout) as exc:
                self.close()
                # Progress since the last failure starts the back-off over, as it does
                # for iter_chunks.
                failures = 1 if self._position > progress else failures + 1
                progress = self._position
                await self._wait_to_resume(exc, failures)

    def _pump_blocking(self, raw: PlainResponse, sink: Sink, buffers: int) -> None:
        """On a worker thread: the wire into ``sink`` until the window's end, reading into
        ``buffers`` buffers in turn (the oldest view the sink may keep is the one it got
        ``buffers - 1`` calls ago)."""
        ring = [memoryview(bytearray(PUMP_BUFFER_SIZE)) for _ in range(buffers)]
        turn = 0
        while self._end is None or self._position < self._end:
            buffer = ring[turn]
            want = len(buffer)
            if self._end is not None:
                want = min(want, self._end - self._position)
            if self._position < self.start:
                want = min(want, self.start - self._position)
            with translating_errors(self.url):
                raw.bound_wait(self._context.deadline.remaining())
                got = raw.readinto(buffer[:want])
            if not got:
                if self._end is not None:
                    raise SourceUnavailable(f"body ended at byte {self._position} of {self._end}")
                return
            skipping = self._position < self.start
            self._position += got
            if not skipping:
                sink(buffer[:got])
                turn = (turn + 1) % buffers

    async def _pump_chunks(self, sink: Sink) -> None:
        """Read chunks on the loop; ``sink`` takes them in order on one thread of its own."""
        loop = asyncio.get_running_loop()
        pending: list[asyncio.Future[None]] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="swarmfly-sink") as serial:
            try:
                while self._end is None or self._position < self._end:
                    chunk = await self._read(PUMP_BUFFER_SIZE)
                    if not chunk:
                        break
                    await throttle(self._context.rate_limiter, len(chunk))
                    pending.append(loop.run_in_executor(serial, sink, memoryview(chunk)))
                    if len(pending) > _SINK_BACKLOG:
                        await pending.pop(0)
                for future in pending:
                    await future
            finally:
                # The sink is never called after we return: wait for what was queued.
                await asyncio.gather(*pending, return_exceptions=True)

    def close(self) -> None:
        """Give the connection back (or close it, when the body was not read to the end)."""
        if self._raw is not None:
            self._raw.release()
            self._raw = None

    async def _next_chunk(self, chunk_size: int) -> bytes:
        """The next bytes of the window; empty only at the end of a body of unknown length."""
        failures = 0
        while True:
            try:
                if self._raw is None:
                    await self._reopen()
                return await self._read(chunk_size)
            except (SourceUnavailable, SourceTimeout) as exc:
                self.close()
                failures += 1
                await self._wait_to_resume(exc, failures)

    async def _read(self, chunk_size: int) -> bytes:
        """Read from the wire, skipping bytes before ``start`` and never past ``end``."""
        assert self._raw is not None
        while True:
            want = chunk_size if self._end is None else min(chunk_size, self._end - self._position)
            if self._position < self.start:
                want = min(want, self.start - self._position)
            data = await self._receive(want)
            if not data:
                if self._end is not None:
                    raise SourceUnavailable(f"body ended at byte {self._position} of {self._end}")
                return b""
            skipping = self._position < self.start
            self._position += len(data)
            if not skipping:
                return data

    async def _receive(self, want: int) -> bytes:
        """Up to ``want`` bytes as the network delivered them (no joining of buffers).

        A chunk larger than ``want`` is split, and the rest kept for the next call.
        """
        assert self._raw is not None
        if not self._leftover:
            with translating_errors(self.url):
                self._raw.bound_wait(self._context.deadline.remaining())
                self._leftover = await self._raw.readchunk()
        data = self._leftover
        if len(data) > want:
            data, self._leftover = data[:want], data[want:]
        else:
            self._leftover = b""
        return data

    async def _wait_to_resume(self, exc: SourceUnavailable | SourceTimeout, failures: int) -> None:
        """Sleep before resuming, or re-raise ``exc`` when resuming is not possible or allowed."""
        context = self._context
        if context.deadline.expired():
            raise SourceTimeout(f"deadline passed at byte {self._position}") from exc
        if not self._resumable:
            raise type(exc)(f"cannot resume at byte {self._position}: {exc}") from exc
        delay = context.retry.delay_for(failures, retry_after_of(exc.__cause__))
        remaining = context.deadline.remaining()
        if not context.retry.has_attempts_left(failures) or (
            remaining is not None and delay >= remaining
        ):
            raise exc
        logger.warning(
            "source body resumed",
            extra={
                "url": redacted_url(self.url),
                "offset": self._position,
                "attempt": failures,
                "error": type(exc).__name__,
            },
        )
        await context.sleep(delay)

    async def _reopen(self) -> None:
        """Ask for the rest of the body and adopt the answer if it provably continues it."""
        rest = ByteRange(self._position, None if self._end is None else self._end - 1)
        context = self._context
        request = dataclasses.replace(context.request, range=rest)
        try:
            raw = await context.fetcher.fetch_once(
                request, "GET", context.deadline, if_range=self._validator
            )
        except SourceStatusError as exc:
            self._resumable = is_retryable(exc)
            raise SourceUnavailable(f"resuming: source answered {exc.status}") from exc
        except RangeNotSatisfiable as exc:
            self._resumable = False
            raise SourceUnavailable("resuming: source refused the rest of the range") from exc
        self._raw = raw
        self._leftover = b""  # received past _position on the old connection: asked for again
        self._check_continues(raw)

    def _check_continues(self, raw: RawResponse) -> None:
        """Raise (for good) unless ``raw`` is the same object from exactly ``_position``."""
        reason = None
        if raw.status != 206:
            reason = f"source answered {raw.status} to a ranged request"
        else:
            try:
                window = body_window(raw.status, raw.headers, None)
            except SourceUnavailable:
                self._resumable = False
                raise
            if window.wire_start != self._position:
                reason = f"source resumed at byte {window.wire_start}"
            elif not _same(window.total_length, self.total_length):
                reason = "object length changed"
            elif not _same(raw.headers.get("ETag"), self.headers.get("ETag")):
                reason = "object ETag changed"
        if reason is not None:
            self._resumable = False
            raise SourceUnavailable(f"cannot resume at byte {self._position}: {reason}")


def _same(now: object | None, before: object | None) -> bool:
    """Equal, or one side unknown."""
    return now is None or before is None or now == before


async def _on_thread(
    executor: ThreadPoolExecutor,
    work: Callable[[PlainResponse, Sink, int], None],
    raw: PlainResponse,
    sink: Sink,
    buffers: int,
    interrupt: Callable[[], None],
) -> None:
    """Run ``work`` on ``executor``; if the caller is cancelled, ``interrupt`` it and wait
    until the thread has stopped, so nothing touches ``sink`` after the cancellation."""
    future = asyncio.get_running_loop().run_in_executor(executor, work, raw, sink, buffers)
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        interrupt()
        await asyncio.gather(future, return_exceptions=True)
        raise
