"""A seed peer's first copies: a piece is refused while a copy goes out and for a grace after."""

from __future__ import annotations

import pytest

from swarmfly.daemon.first_copies import FirstCopies
from tests.unit.scheduler.sample import FakeClock


class Failed(Exception):
    pass


def test_a_piece_is_refused_while_it_goes_out_and_for_the_grace_after() -> None:
    clock = FakeClock()
    copies = FirstCopies(grace=3.0, clock=clock)
    assert copies.refusal("t", 0) == 0
    with copies.sending("t", 0):
        assert copies.refusal("t", 0) == 3.0
        assert copies.refusal("t", 1) == 0  # other pieces and tasks go on
        assert copies.refusal("u", 0) == 0
        clock.advance(10)  # a slow copy: still refused while it goes out
        assert copies.refusal("t", 0) == 3.0
    clock.advance(1)
    assert copies.refusal("t", 0) == pytest.approx(2.0)
    clock.advance(2)
    assert copies.refusal("t", 0) == 0


def test_a_copy_that_failed_does_not_count() -> None:
    copies = FirstCopies(grace=3.0, clock=FakeClock())
    with pytest.raises(Failed), copies.sending("t", 0):
        raise Failed
    assert copies.refusal("t", 0) == 0
