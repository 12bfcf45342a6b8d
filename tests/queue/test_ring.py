"""Consistent-hash ownership of buckets."""

from app.queue.ring import HashRing, bucket_for, fnv1a_32
from app.queue.schema import BUCKET_COUNT


def test_fnv1a_matches_reference_vectors() -> None:
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968


def test_bucket_is_stable_and_in_range() -> None:
    assert bucket_for("endpoint-1") == bucket_for("endpoint-1")
    assert all(0 <= bucket_for(f"k{i}") < BUCKET_COUNT for i in range(1000))
    assert bucket_for(None) == 0


def test_ownership_is_deterministic() -> None:
    workers = ["w1", "w2", "w3"]
    first = HashRing(workers)
    second = HashRing(reversed(workers))

    assert [first.owner(b) for b in range(BUCKET_COUNT)] == [
        second.owner(b) for b in range(BUCKET_COUNT)
    ]


def test_every_bucket_has_exactly_one_live_owner() -> None:
    ring = HashRing(["w1", "w2", "w3"])
    owned = [ring.buckets_of(worker) for worker in ("w1", "w2", "w3")]

    assert sorted(b for buckets in owned for b in buckets) == list(range(BUCKET_COUNT))
    assert all(ring.owner(b) in {"w1", "w2", "w3"} for b in range(BUCKET_COUNT))
    # virtual nodes keep the shares near a third each
    assert all(BUCKET_COUNT * 0.2 < len(buckets) < BUCKET_COUNT * 0.47 for buckets in owned)


def test_adding_a_fourth_worker_moves_about_a_quarter() -> None:
    before = HashRing(["w1", "w2", "w3"])
    after = HashRing(["w1", "w2", "w3", "w4"])

    moved = [b for b in range(BUCKET_COUNT) if before.owner(b) != after.owner(b)]

    assert all(after.owner(b) == "w4" for b in moved)  # only to the newcomer
    assert BUCKET_COUNT * 0.15 < len(moved) < BUCKET_COUNT * 0.35


def test_an_empty_ring_owns_nothing() -> None:
    ring = HashRing([])
    assert ring.owner(0) is None
    assert ring.buckets_of("w1") == []
