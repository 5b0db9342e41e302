"""The piece list of a task being downloaded, as the piece server sends it: built from the
download in memory, once per change, whatever the number of children that ask.

Every child follows its parents' lists with long polls, so each piece that lands here is
answered to every child at once. Reading the store's metadata and rebuilding the JSON for each
of them cost two SQLite hops and a model per child; the download already holds the same pieces.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from swarmfly.daemon.tasks import TaskDownload
from swarmfly.wire.pieces import PieceInfo, PieceList

#: What a listing depends on: the pieces landed, whether the task is whole, and its record.
_Version = tuple[int, bool, object]


class Listings:
    """The JSON body of each download's current piece list, rebuilt when the download moves."""

    def __init__(self) -> None:
        self._bodies: WeakKeyDictionary[TaskDownload, tuple[_Version, bytes]] = WeakKeyDictionary()

    def body(self, download: TaskDownload) -> bytes:
        """The listing of ``download``, whose length must be known (``download.record``)."""
        record = download.record
        assert record is not None
        version = (len(download.pieces), download.finished, record)
        cached = self._bodies.get(download)
        if cached is not None and cached[0] == version:
            return cached[1]
        listing = PieceList(
            task_id=download.task_id,
            state=record.state.value,
            content_length=record.content_length,
            piece_length=record.piece_length,
            pieces=[
                PieceInfo(number=p.number, offset=p.offset, length=p.length, digest=p.digest)
                for p in sorted(download.pieces.values(), key=lambda p: p.number)
            ],
        )
        body = listing.model_dump_json().encode()
        self._bodies[download] = (version, body)
        return body
