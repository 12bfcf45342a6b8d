"""Which live worker owns each partition bucket: rendezvous rankings under a load cap.

Each worker ranks all 1,024 buckets in its own pseudo-random order (64-bit scores read from
SHAKE-256 of its id). Ownership is the greedy assignment over those rankings: level by level,
every worker below its cap takes its next preferred bucket if that is still free (two workers
asking for one bucket at the same level: the higher score wins). The cap is
``ceil(1024 * 1.04 / n)``. All of it is a function of the member set, computed in integers, so
every process gets the same owners on its own, whatever order it lists the workers in.

Chosen by measurement (``python -m bench.ring``: 100 random id sets per size, 2 to 16 workers,
ids shaped like the runtime's UUIDv7s and again as random UUIDv4s; tables in
``bench/README.md``):

- The FNV-1a ring it replaces (160 vnodes per worker) had median max/min owned buckets of 1.6 at
  2 workers, 3.6 at 8 and 12 at 16, worst 264; a join or leave moved up to 3.8x the ideal
  ``1024 / n``. FNV-1a barely spreads inputs that differ only in their last characters, so one
  worker's vnodes clustered.
- Without the cap this is plain rendezvous hashing: a join moves buckets only to the newcomer
  and a leave only from the leaver, but with just 1,024 buckets each share is a sum of chance
  wins (median max/min 1.33-1.38 at 16 workers, worst 1.74). No such scheme can do much
  better: if a join may only move buckets to the newcomer, each bucket's owner must be the
  first member in one fixed order of all ids, and every such order we tried (independent
  scores, these rankings, rankings paired with their mirror images) stayed above 1.3 at 16.
- An exact cap (``ceil(1024 / n)``) balances perfectly, but shrinking it on every join pushes
  buckets on from worker to worker: a join or leave moves 1.26-1.33x the ideal at 16.
- 4% headroom (this module): median max/min at most 1.20 from 2 to 16 workers (worst 1.42); a
  join or leave moves at most 1.15x the ideal (median; worst 1.35). The price: some buckets
  (median up to 9, worst 22, none in the median below 4 workers) move between two workers that
  did not change, where the tighter cap pushes them on; they are counted in those ratios.

A ranking is a permutation (one bucket per level) rather than an independent score per bucket,
because then no worker is lucky on many buckets at once: in a throwaway experiment plain
rendezvous with independent scores gave 1.53 at 16 workers where rankings give 1.33-1.38, so
fewer buckets meet the cap.

Computing the owners takes about 4 ms at 16 workers on the 2-core development machine (a
SHAKE-256 stream and a sort of 1,024 scores per worker, then the greedy pass), so it happens on
first use: the runtime builds a ``HashRing`` on every heartbeat (0.4 µs) but reads its owners
only when the member set changed. The old ring hashed 2,560 vnodes on every heartbeat (8 ms).

Ownership decides who *should* work on a bucket (and so keeps an endpoint's rate limit in one
process); safety while two workers disagree still comes from row locks, leases and fencing.
"""

import hashlib
import struct
from collections.abc import Iterable
from functools import cached_property

from app.queue.schema import BUCKET_COUNT

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
#: How far above an even share (in percent) a worker may own before its buckets go elsewhere.
HEADROOM_PERCENT = 4


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


def _ranking(worker: str, bucket_count: int) -> list[int]:
    """One worker's buckets, most preferred first, each as ``score << 16 | bucket``.

    The 64-bit scores are SHAKE-256 of the id; a bucket is ``key & 0xFFFF``, and comparing two
    keys compares the scores they were ranked by.
    """
    stream = hashlib.shake_256(b"hookline.ring:" + worker.encode()).digest(8 * bucket_count)
    scores = struct.unpack(f">{bucket_count}Q", stream)
    return sorted((score << 16 | bucket for bucket, score in enumerate(scores)), reverse=True)


class HashRing:
    """An immutable assignment of buckets to workers.

    Built on every heartbeat but consulted only when the member set changed, so the owners are
    computed on first use.
    """

    def __init__(
        self,
        workers: Iterable[str],
        *,
        bucket_count: int = BUCKET_COUNT,
        headroom_percent: int = HEADROOM_PERCENT,
    ) -> None:
        self.workers = frozenset(workers)
        self.bucket_count = bucket_count
        self.headroom_percent = headroom_percent

    def owner(self, bucket: int) -> str | None:
        """The worker that owns ``bucket``, or None on an empty ring."""
        return self._owner_of[bucket]

    def buckets_of(self, worker: str) -> list[int]:
        """Every bucket ``worker`` owns, ascending."""
        return [bucket for bucket, owner in enumerate(self._owner_of) if owner == worker]

    @cached_property
    def _owner_of(self) -> list[str | None]:
        owners: list[str | None] = [None] * self.bucket_count
        if not self.workers:
            return owners
        workers = sorted(self.workers)
        rankings = [_ranking(worker, self.bucket_count) for worker in workers]
        cap = -(-self.bucket_count * (100 + self.headroom_percent) // (100 * len(workers)))
        loads = [0] * len(workers)
        active = list(range(len(workers)))
        free = self.bucket_count
        for level in range(self.bucket_count):
            asking = sorted(((rankings[i][level], i) for i in active), reverse=True)
            for key, index in asking:
                bucket = key & 0xFFFF
                if owners[bucket] is None:
                    owners[bucket] = workers[index]
                    free -= 1
                    loads[index] += 1
                    if loads[index] == cap:
                        active.remove(index)
            if not free:
                break
        return owners
