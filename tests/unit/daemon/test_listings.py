"""The piece server's listing of a download in progress: from memory, built once per change."""

from __future__ import annotations

import dataclasses

from swarmfly.daemon.listings import Listings
from swarmfly.daemon.tasks import TaskDownload
from swarmfly.storage import PieceRecord, TaskRecord, TaskState
from swarmfly.wire.pieces import PieceList

TASK = "a" * 64


def _piece(number: int) -> PieceRecord:
    return PieceRecord(TASK, number, number * 4, 4, f"d{number}")


async def test_the_listing_follows_the_download_and_is_built_once_per_change() -> None:
    record = TaskRecord(TASK, "http://o/f", 10, 4, None, TaskState.RUNNING, 0, 0, 0, 0)
    download = TaskDownload(TASK)
    await download.started(record, [_piece(2)])
    listings = Listings()
    first = listings.body(download)
    assert listings.body(download) is first  # asked again (another child): the same bytes
    await download.piece_landed(_piece(0))
    second = PieceList.model_validate_json(listings.body(download))
    assert [(p.number, p.offset, p.digest) for p in second.pieces] == [(0, 0, "d0"), (2, 8, "d2")]
    assert (second.state, second.content_length, second.piece_length) == ("running", 10, 4)
    await download.piece_landed(_piece(1))
    await download.succeeded(dataclasses.replace(record, state=TaskState.SUCCEEDED))
    done = PieceList.model_validate_json(listings.body(download))
    assert done.state == "succeeded" and len(done.pieces) == 3
