"""The piece server (port 4000): how a peer learns which pieces another peer holds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PieceInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    offset: int
    length: int
    digest: str  # xxh3-64 hex of the piece's bytes


class PieceList(BaseModel):
    """``GET /tasks/{task_id}/pieces``: the finished pieces of a task, by number."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    state: str
    content_length: int | None
    piece_length: int
    pieces: list[PieceInfo]
