from __future__ import annotations

import asyncio

import pytest

from swarmfly.storage.verification import ProvenTasks


class GatedProof:
    """A proof that waits until the test opens the gate, counting how often it ran."""

    def __init__(self, result: bool = True) -> None:
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.calls: list[str] = []
        self.result = result

    async def __call__(self, task_id: str) -> bool:
        self.calls.append(task_id)
        self.started.set()
        await self.gate.wait()
        return self.result


async def test_one_proof_for_many_callers() -> None:
    proof = GatedProof()
    proven = ProvenTasks(proof)
    waiters = [asyncio.create_task(proven.ensure("t")) for _ in range(5)]
    await proof.started.wait()
    proof.gate.set()
    await asyncio.gather(*waiters)
    assert proof.calls == ["t"]
    assert proven.is_proven("t")
    await proven.ensure("t")
    assert proof.calls == ["t"]


async def test_a_caller_that_gives_up_does_not_cancel_the_proof_for_the_others() -> None:
    proof = GatedProof()
    proven = ProvenTasks(proof)
    quitter = asyncio.create_task(proven.ensure("t"))
    stayer = asyncio.create_task(proven.ensure("t"))
    await proof.started.wait()
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    proof.gate.set()
    await stayer
    assert proven.is_proven("t")


async def test_nothing_to_prove_is_not_marked() -> None:
    proof = GatedProof(result=False)
    proof.gate.set()
    proven = ProvenTasks(proof)
    await proven.ensure("t")
    assert not proven.is_proven("t")
    proven.mark("t")
    assert proven.is_proven("t")
    proven.forget("t")
    assert not proven.is_proven("t")


async def test_a_failed_proof_reaches_every_caller_and_is_retried() -> None:
    attempts: list[str] = []

    async def failing(task_id: str) -> bool:
        attempts.append(task_id)
        if len(attempts) == 1:
            raise OSError("disk went away")
        return True

    proven = ProvenTasks(failing)
    results = await asyncio.gather(proven.ensure("t"), proven.ensure("t"), return_exceptions=True)
    assert [type(r) for r in results] == [OSError, OSError]
    await proven.ensure("t")
    assert attempts == ["t", "t"]


async def test_close_cancels_proofs_in_flight() -> None:
    proof = GatedProof()
    proven = ProvenTasks(proof)
    waiter = asyncio.create_task(proven.ensure("t"))
    await proof.started.wait()
    await proven.aclose()
    with pytest.raises(asyncio.CancelledError):
        await waiter
