"""``dfget``: download a URL through the local daemon, or straight from the source.

Through the daemon, the file lands in the shared store, where other peers can get it; the
daemon streams it back as pieces land. With no daemon running, the same output, digest and
progress code takes the bytes from the source client directly.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from swarmfly import errors, idgen
from swarmfly.client.output import OutputFile
from swarmfly.digests import parse_digest
from swarmfly.logs import redacted_url
from swarmfly.wire.daemon import DownloadTaskRequest
from swarmfly.wire.daemon_client import DaemonClient

logger = logging.getLogger(__name__)


class Progress(Protocol):
    def start(self, total: int | None) -> None: ...
    def advance(self, size: int) -> None: ...
    def close(self) -> None: ...


class NoProgress:
    def start(self, total: int | None) -> None:
        pass

    def advance(self, size: int) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class DfgetOptions:
    url: str
    output: Path
    tag: str = ""
    application: str = ""
    filtered_query_params: str | None = None  # "a&b"; None means the daemon's default
    headers: tuple[tuple[str, str], ...] = ()
    digest: str | None = None
    piece_length: int | None = None
    disable_back_to_source: bool = False
    daemon_addr: str | None = None  # None: straight from the source


@dataclass(frozen=True)
class DfgetResult:
    path: Path
    size: int
    task_id: str
    via: Literal["daemon", "source"]
    from_store: bool


async def dfget(options: DfgetOptions, progress: Progress | None = None) -> DfgetResult:
    """Download ``options.url`` to ``options.output``; raises a ``SwarmflyError`` on failure."""
    progress = progress or NoProgress()
    if options.digest:
        parse_digest(options.digest)
    if options.piece_length is not None:
        idgen.validate_piece_length(options.piece_length)
    try:
        if options.daemon_addr is not None:
            daemon = DaemonClient(options.daemon_addr)
            if await daemon.healthy():
                return await _through_daemon(daemon, options, progress)
            if options.disable_back_to_source:
                raise errors.Unavailable(
                    f"no daemon at {options.daemon_addr} and back-to-source is disabled"
                )
            logger.warning(
                "no daemon answering; downloading straight from the source",
                extra={"daemon": options.daemon_addr},
            )
        elif options.disable_back_to_source:
            raise errors.InvalidInput("back-to-source is disabled and no daemon was given")
        return await _from_source(options, progress)
    finally:
        progress.close()


async def _through_daemon(
    daemon: DaemonClient, options: DfgetOptions, progress: Progress
) -> DfgetResult:
    """Let the daemon fill the file in the kernel; stream it over HTTP if it cannot."""
    digest = parse_digest(options.digest) if options.digest else None
    async with OutputFile(options.output, digest) as out:
        request = _download_request(options, output_path=str(out.temp_path))
        try:
            task_id, from_store = await _copied_by_daemon(daemon, request, out, progress)
        except OutputNotWritable as exc:
            logger.info("the daemon cannot write here; streaming", extra={"reason": str(exc)})
            request = _download_request(options, output_path=None)
            async with daemon.download(request) as download:
                await _fill(out, download.iter_chunks(), download.content_length, progress)
                task_id, from_store = download.task_id, download.from_store
        await out.commit()
        return DfgetResult(options.output, out.size, task_id, "daemon", from_store)


async def _copied_by_daemon(
    daemon: DaemonClient, request: DownloadTaskRequest, out: OutputFile, progress: Progress
) -> tuple[str, bool]:
    done = 0
    try:
        async for event in daemon.download_to(request):
            progress.start(event.total)
            progress.advance(event.bytes - done)
            done = event.bytes
            if event.done:
                out.written_elsewhere(event.bytes)
                return event.task_id, event.from_store
    except errors.Forbidden as exc:
        raise OutputNotWritable(str(exc)) from exc
    raise errors.Unavailable("the daemon ended the transfer without finishing it")


class OutputNotWritable(errors.Forbidden):
    """The daemon may not write the output path (another host, user or mount namespace)."""


def _download_request(options: DfgetOptions, output_path: str | None) -> DownloadTaskRequest:
    return DownloadTaskRequest(
        url=options.url,
        headers=list(options.headers),
        tag=options.tag,
        application=options.application,
        filtered_query_params=(
            None
            if options.filtered_query_params is None
            else list(idgen.parse_filter_list(options.filtered_query_params))
        ),
        piece_length=options.piece_length,
        digest=options.digest,
        disable_back_to_source=options.disable_back_to_source,
        output_path=output_path,
    )


async def _from_source(options: DfgetOptions, progress: Progress) -> DfgetResult:
    # Imported only here: through a daemon (the usual case) dfget starts without aiohttp.
    from swarmfly.source import SourceClient, SourceRequest

    filtered = (
        idgen.DEFAULT_FILTERED_QUERY_PARAMS
        if options.filtered_query_params is None
        else idgen.parse_filter_list(options.filtered_query_params)
    )
    task_id = idgen.task_id(
        options.url,
        tag=options.tag,
        application=options.application,
        piece_length=options.piece_length,
        filtered_query_params=filtered,
    )
    logger.info("downloading from the source", extra={"url": redacted_url(options.url)})
    async with SourceClient.open() as source:
        request = SourceRequest(url=options.url, headers=options.headers)
        async with source.get(request) as response:
            size = await _save(response.iter_chunks(), response.total_length, options, progress)
    return DfgetResult(options.output, size, task_id, "source", False)


async def _save(
    chunks: AsyncIterator[bytes], length: int | None, options: DfgetOptions, progress: Progress
) -> int:
    digest = parse_digest(options.digest) if options.digest else None
    async with OutputFile(options.output, digest) as out:
        await _fill(out, chunks, length, progress)
        await out.commit()
        return out.size


async def _fill(
    out: OutputFile, chunks: AsyncIterator[bytes], length: int | None, progress: Progress
) -> None:
    progress.start(length)
    async for chunk in chunks:
        await out.write(chunk)
        progress.advance(len(chunk))
    if length is not None and out.size != length:
        raise errors.Unavailable(f"the transfer ended after {out.size} of {length} bytes")
