"""A seed peer sends each piece once, then lets the peers pass it on (BitTorrent's super-seeding,
BEP 16, at the scale of a piece server).

Peers that start together all have the seed peer as a parent, and while it fetches a task from
the source the newest pieces are on the seed peer only: every peer asks it for the same piece.
Its one uplink then carries N copies of every piece, and N peers finish no sooner than if they
had each gone to the source (issue #4's benchmark measured that). Instead, a piece the seed
peer sent less than ``grace`` seconds ago is refused with 503 and ``Retry-After``: the peer
that got it is someone's parent, so the others take it from there, and the seed peer's uplink
goes to pieces nobody has yet. The refusal lasts while the copy goes out and ``grace`` seconds
after, so a piece whose first copy was lost (its peer died, or is nobody's parent) is sent
again; a copy that failed on the way does not count.

Plain bookkeeping with an injected clock; the piece server asks before it sends a piece.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Seconds after a copy went out during which the piece is refused to others: long enough for
#: it to cross a few peers (a 4 MiB piece takes 0.17 s on a 200 Mbit/s link), short next to a
#: download.
DEFAULT_GRACE = 3.0
#: Entries kept before old ones are swept (one per piece sent within ``grace``).
SWEEP_AT = 4096


class FirstCopies:
    """Which pieces are going out or went out lately, and whether another copy may go now."""

    def __init__(
        self, *, grace: float = DEFAULT_GRACE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.grace = grace
        self._clock = clock
        self._sending: set[tuple[str, int]] = set()
        self._sent: dict[tuple[str, int], float] = {}  # when the last copy finished

    def refusal(self, task_id: str, number: int) -> float:
        """0 when a copy of the piece may go out now; otherwise the seconds until it may."""
        key = (task_id, number)
        if key in self._sending:
            return self.grace
        sent = self._sent.get(key)
        elapsed = self._clock() - sent if sent is not None else self.grace
        return max(0.0, self.grace - elapsed)

    @contextmanager
    def sending(self, task_id: str, number: int) -> Iterator[None]:
        """Hold the piece while a copy goes out; a copy that failed does not count."""
        key = (task_id, number)
        self._sending.add(key)
        try:
            yield
        finally:
            self._sending.discard(key)
        now = self._clock()  # reached only when the copy went out
        self._sent[key] = now
        if len(self._sent) > SWEEP_AT:
            self._sent = {k: at for k, at in self._sent.items() if now - at < self.grace}
