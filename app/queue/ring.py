"""Consistent-hash ownership of partition buckets among live workers.

Each worker places ``vnodes`` points on a 32-bit ring (FNV-1a of ``"{worker}#{i}"``); a bucket
belongs to the first worker point at or after the bucket's own point. Adding or removing one
worker moves only the buckets between its points and their predecessors, about ``1/n`` of them,
so a rebalance disturbs little in-flight ordering. The ring decides who *should* work on a bucket;
safety while two workers disagree still comes from row locks, leases and fencing.
"""

import bisect
from collections.abc import Iterable

from app.queue.schema import BUCKET_COUNT

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
DEFAULT_VNODES = 160


def fnv1a_32(data: bytes) -> int:
    """32-bit FNV-1a hash."""
    value = _FNV_OFFSET
    for byte in data:
        value ^= byte
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


def bucket_for(partition_key: str | None, bucket_count: int = BUCKET_COUNT) -> int:
    """The bucket a partition key falls in; rows without a key share bucket 0."""
    if partition_key is None:
        return 0
    return fnv1a_32(partition_key.encode()) % bucket_count


class HashRing:
    """An immutable assignment of buckets to workers."""

    def __init__(
        self,
        workers: Iterable[str],
        *,
        vnodes: int = DEFAULT_VNODES,
        bucket_count: int = BUCKET_COUNT,
    ) -> None:
        self.workers = frozenset(workers)
        self.bucket_count = bucket_count
        points = sorted(
            (fnv1a_32(f"{worker}#{i}".encode()), worker)
            for worker in self.workers
            for i in range(vnodes)
        )
        self._hashes = [point for point, _ in points]
        self._owners = [worker for _, worker in points]
        self._owner_of = [self._lookup(bucket) for bucket in range(bucket_count)]

    def _lookup(self, bucket: int) -> str | None:
        if not self._hashes:
            return None
        index = bisect.bisect_left(self._hashes, fnv1a_32(f"bucket:{bucket}".encode()))
        return self._owners[index % len(self._owners)]

    def owner(self, bucket: int) -> str | None:
        """The worker that owns ``bucket``, or None on an empty ring."""
        return self._owner_of[bucket]

    def buckets_of(self, worker: str) -> list[int]:
        """Every bucket ``worker`` owns, ascending."""
        return [bucket for bucket, owner in enumerate(self._owner_of) if owner == worker]
