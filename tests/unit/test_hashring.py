from collections import Counter

from swarmfly.hashring import HashRing


def test_empty_ring_has_no_owner() -> None:
    assert HashRing([]).owner("task") is None
    assert HashRing([]).owners("task", 3) == []


def test_owner_is_stable_and_shared_evenly() -> None:
    ring = HashRing(["a", "b", "c", "d"])
    assert ring.owner("task-1") == HashRing(["d", "c", "b", "a"]).owner("task-1")
    counts = Counter(ring.owner(f"task-{i}") for i in range(4000))
    assert set(counts) == {"a", "b", "c", "d"}
    assert min(counts.values()) > 700, counts


def test_removing_a_member_moves_only_its_keys() -> None:
    before = HashRing(["a", "b", "c", "d"])
    after = HashRing(["a", "b", "c"])
    for i in range(2000):
        key = f"task-{i}"
        if before.owner(key) != "d":
            assert after.owner(key) == before.owner(key)


def test_owners_lists_distinct_fallbacks_in_order() -> None:
    ring = HashRing(["a", "b", "c"])
    owners = ring.owners("key", 5)
    assert sorted(owners) == ["a", "b", "c"]
    assert owners[0] == ring.owner("key")
