"""Proving a task after a restart, and doing it once per task however many callers ask.

After a restart nothing on disk is trusted: the first time a task is touched, all its pieces
are re-hashed (:func:`prove_task`) and those that fail are dropped. Many callers may touch the
same task at once (a proxy request, a peer asking for pieces, the conductor); they share one
proof (:class:`ProvenTasks`). The proof runs as a task owned by that object, not by whichever
caller came first, so a caller that gives up (cancelled) does not cancel the proof the others
are waiting on. Tasks created by this process are marked proven directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from swarmfly.storage.content import ContentFiles
from swarmfly.storage.metadata import MetadataDB

logger = logging.getLogger(__name__)


async def prove_task(metadata: MetadataDB, files: ContentFiles, task_id: str, now: float) -> bool:
    """Re-hash every finished piece of a task and drop the bad ones; False if no such task."""
    task = await metadata.get_task(task_id)
    if task is None:
        return False
    pieces = await metadata.pieces(task_id)
    bad = await files.verify(task_id, pieces) if pieces else []
    if bad:
        await drop_pieces(metadata, task_id, bad, now, reason="verification at first use")
    logger.info(
        "task verified", extra={"task_id": task_id, "pieces": len(pieces), "dropped": len(bad)}
    )
    return True


async def drop_pieces(
    metadata: MetadataDB, task_id: str, numbers: Sequence[int], now: float, *, reason: str
) -> None:
    """Forget pieces whose bytes are wrong; a SUCCEEDED task goes back to RUNNING."""
    await metadata.drop_pieces(task_id, numbers, now)
    for number in numbers:
        logger.warning(
            "corrupt piece dropped", extra={"task_id": task_id, "piece": number, "reason": reason}
        )


class ProvenTasks:
    """The set of task IDs whose pieces are trusted in this process, and the proofs in flight.

    ``prove(task_id)`` checks a task and returns whether it may be marked proven (False when
    there is nothing to prove yet, for example no such task).
    """

    def __init__(self, prove: Callable[[str], Awaitable[bool]]) -> None:
        self._prove = prove
        self._proven: set[str] = set()
        self._in_flight: dict[str, asyncio.Task[bool]] = {}

    def is_proven(self, task_id: str) -> bool:
        return task_id in self._proven

    def mark(self, task_id: str) -> None:
        """Trust a task without a proof: this process wrote everything it holds."""
        self._proven.add(task_id)

    def forget(self, task_id: str) -> None:
        self._proven.discard(task_id)

    async def ensure(self, task_id: str) -> None:
        """Return once ``task_id`` is proven (or has nothing to prove); join a running proof."""
        if task_id in self._proven:
            return
        proof = self._in_flight.get(task_id)
        if proof is None:
            proof = asyncio.create_task(self._run(task_id), name=f"prove {task_id}")
            self._in_flight[task_id] = proof
            proof.add_done_callback(lambda done: self._reap(task_id, done))
        await asyncio.shield(proof)

    async def _run(self, task_id: str) -> bool:
        if await self._prove(task_id):
            self._proven.add(task_id)
            return True
        return False

    def _reap(self, task_id: str, proof: asyncio.Task[bool]) -> None:
        if self._in_flight.get(task_id) is proof:
            del self._in_flight[task_id]
        if not proof.cancelled():
            proof.exception()  # every waiter has it; mark it retrieved if they all left

    async def aclose(self) -> None:
        """Cancel the proofs still running and wait for them to end."""
        proofs = list(self._in_flight.values())
        for proof in proofs:
            proof.cancel()
        await asyncio.gather(*proofs, return_exceptions=True)
