from __future__ import annotations

import dataclasses

import pytest

from swarmfly.storage.records import (
    TaskRecord,
    TaskState,
    layout_changed,
    missing_pieces,
    piece_capacity,
    piece_problem,
)

TASK = TaskRecord(
    id="a" * 64,
    url="https://example.com/a",
    content_length=250,
    piece_length=100,
    digest=None,
    state=TaskState.RUNNING,
    created_at=0.0,
    updated_at=0.0,
    last_access_at=0.0,
    size_on_disk=250,
)
UNKNOWN_LENGTH = dataclasses.replace(TASK, content_length=None)


@pytest.mark.parametrize(
    ("content_length", "expected"), [(None, None), (0, 1), (1, 1), (100, 1), (101, 2), (250, 3)]
)
def test_piece_count(content_length: int | None, expected: int | None) -> None:
    assert dataclasses.replace(TASK, content_length=content_length).piece_count == expected


@pytest.mark.parametrize(
    ("task", "number", "expected"),
    [(TASK, 0, 100), (TASK, 2, 50), (TASK, 3, 0), (UNKNOWN_LENGTH, 7, 100)],
)
def test_piece_capacity(task: TaskRecord, number: int, expected: int) -> None:
    assert piece_capacity(task, number) == expected


@pytest.mark.parametrize(
    ("task", "number", "offset", "length", "fits"),
    [
        (TASK, 0, 0, 100, True),
        (TASK, 2, 200, 50, True),
        (TASK, 2, 200, None, True),
        (TASK, 2, 200, 100, False),  # the last piece is short
        (TASK, 1, 100, 99, False),  # a middle piece is whole
        (TASK, 1, 101, 100, False),  # pieces sit at number * piece_length
        (TASK, 3, 300, 0, False),  # past the end
        (TASK, -1, -100, 100, False),
        (UNKNOWN_LENGTH, 5, 500, 100, True),
        (UNKNOWN_LENGTH, 5, 500, 7, True),  # might be the last
        (UNKNOWN_LENGTH, 5, 500, 101, False),
    ],
)
def test_piece_problem(
    task: TaskRecord, number: int, offset: int, length: int | None, fits: bool
) -> None:
    assert (piece_problem(task, number, offset, length) is None) is fits


def test_missing_pieces() -> None:
    assert missing_pieces(TASK, [0, 2]) == [1]
    assert missing_pieces(TASK, [2, 1, 0]) == []
    with pytest.raises(ValueError):
        missing_pieces(UNKNOWN_LENGTH, [])


@pytest.mark.parametrize(
    ("task", "change", "changed"),
    [
        (TASK, {}, False),
        (TASK, {"piece_length": 200}, True),
        (TASK, {"content_length": 251}, True),
        (TASK, {"content_length": None}, False),
        (UNKNOWN_LENGTH, {"content_length": 999}, False),
        (TASK, {"digest": "sha256:" + "0" * 64}, False),
        (
            dataclasses.replace(TASK, digest="sha256:" + "1" * 64),
            {"digest": "sha256:" + "0" * 64},
            True,
        ),
    ],
)
def test_layout_changed(task: TaskRecord, change: dict[str, object], changed: bool) -> None:
    layout: dict[str, object] = {
        "content_length": task.content_length,
        "piece_length": task.piece_length,
        "digest": task.digest,
    }
    layout.update(change)
    assert layout_changed(task, **layout) is changed  # type: ignore[arg-type]
