"""Backoff arithmetic, Retry-After and which failures are worth another try."""

from __future__ import annotations

import pytest

from swarmfly.errors import InvalidInput
from swarmfly.source.errors import (
    RangeNotSatisfiable,
    SourceStatusError,
    SourceTimeout,
    SourceUnavailable,
    SourceURLError,
)
from swarmfly.source.retry import RetryPolicy, is_retryable, retry_after_of

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def policy(**overrides: object) -> RetryPolicy:
    fields: dict[str, object] = {"jitter": 0.0, "wall_clock": lambda: NOW}
    fields.update(overrides)
    return RetryPolicy(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (6, 6.4), (7, 10.0), (50, 10.0), (10_000, 10.0)],
)
def test_backoff_grows_and_is_capped(attempt: int, expected: float) -> None:
    assert policy().delay_for(attempt) == pytest.approx(expected)


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 0.9), (0.5, 1.0), (1.0, 1.1)])
def test_jitter_scales_within_its_fraction(draw: float, factor: float) -> None:
    jittery = policy(jitter=0.1, random=lambda: draw)
    assert jittery.delay_for(2) == pytest.approx(0.4 * factor)


def test_jitter_never_exceeds_max_delay() -> None:
    assert policy(jitter=0.5, random=lambda: 1.0).delay_for(20) == 10.0


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("3", 3.0),
        (" 0 ", 0.0),
        ("120", 60.0),  # capped at max_delay * 6
        ("Tue, 14 Nov 2023 22:13:50 GMT", 30.0),
        ("Tue, 14 Nov 2023 22:13:50 -0000", 30.0),
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # already past
        ("Tue, 14 Nov 2023 23:13:20 GMT", 60.0),
        ("soon", 0.4),  # unusable: falls back to backoff
        ("-5", 0.4),
        ("1.5", 0.4),
    ],
)
def test_retry_after_is_honoured(retry_after: str, expected: float) -> None:
    assert policy().delay_for(2, retry_after) == pytest.approx(expected)


def test_retry_after_is_not_jittered() -> None:
    assert policy(jitter=1.0, random=lambda: 1.0).delay_for(1, "2") == 2.0


def test_attempts_count_the_first_try() -> None:
    three = policy(attempts=3)
    assert [three.has_attempts_left(n) for n in (1, 2, 3)] == [True, True, False]


@pytest.mark.parametrize(
    "fields", [{"attempts": 0}, {"base_delay": -1.0}, {"jitter": 1.5}, {"max_delay": -1.0}]
)
def test_nonsense_policies_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        policy(**fields)


def status(code: int, headers: dict[str, str] | None = None) -> SourceStatusError:
    return SourceStatusError("x", status=code, headers=headers)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (SourceUnavailable("refused"), True),
        (SourceTimeout("slow"), True),
        (status(500), True),
        (status(502), True),
        (status(503), True),
        (status(429), True),
        (status(400), False),
        (status(401), False),
        (status(403), False),
        (status(404), False),
        (status(416), False),
        (status(304), False),
        (RangeNotSatisfiable("past the end"), False),
        (SourceURLError("ftp"), False),
        (InvalidInput("bad"), False),
        (ValueError("not ours"), False),
    ],
)
def test_is_retryable(exc: BaseException, expected: bool) -> None:
    assert is_retryable(exc) is expected


def test_retry_after_of_finds_the_header_whatever_its_case() -> None:
    assert retry_after_of(status(503, {"retry-after": "7"})) == "7"
    assert retry_after_of(status(503, {"Retry-After": "8"})) == "8"
    assert retry_after_of(status(503)) is None
    assert retry_after_of(SourceUnavailable("x")) is None
    assert retry_after_of(None) is None
