"""Sign-in lockouts per username and per address, on a fake clock."""

from __future__ import annotations

from datetime import timedelta

from swarmfly.manager.console.throttle import ADDRESS_FACTOR, SignInThrottle
from tests.unit.scheduler.sample import FakeClock


def throttle(clock: FakeClock, **kwargs: int) -> SignInThrottle:
    return SignInThrottle(
        free_failures=3,
        lockout=timedelta(seconds=10),
        max_lockout=timedelta(seconds=60),
        clock=clock,
        **kwargs,
    )


def test_lockout_grows_and_is_capped() -> None:
    clock = FakeClock()
    t = throttle(clock)
    assert [t.failed("root", "a") for _ in range(2)] == [0.0, 0.0]
    waits = []
    for _ in range(5):
        waits.append(t.failed("root", "a"))
    assert waits == [10.0, 20.0, 40.0, 60.0, 60.0]
    assert t.retry_after("ROOT ", "b") == 60.0  # the username, however written, from anywhere
    clock.advance(60)
    assert t.retry_after("root", "a") == 0.0


def test_success_clears_the_username_not_the_address() -> None:
    clock = FakeClock()
    t = throttle(clock)
    t.failed("root", "a")
    t.failed("root", "a")
    t.succeeded("root", "a")
    assert t.failed("root", "a") == 0.0  # counting starts again for root


def test_an_address_guessing_many_usernames_is_locked_out() -> None:
    clock = FakeClock()
    t = throttle(clock)
    for n in range(3 * ADDRESS_FACTOR - 1):
        assert t.failed(f"user{n}", "a") == 0.0
    assert t.failed("another", "a") == 10.0
    assert t.retry_after("root", "a") == 10.0
    assert t.retry_after("root", "b") == 0.0


def test_memory_is_bounded() -> None:
    clock = FakeClock()
    t = throttle(clock, max_keys=10)
    for n in range(100):
        t.failed(f"user{n}", f"addr{n}")
    assert len(t._failures) <= 10
