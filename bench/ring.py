"""Bucket ownership: balance and movement of the old FNV-1a vnode ring and of ``HashRing``.

    python -m bench.ring --sets 100 --sizes 2 16

No database. For each number of workers ``n``, over ``--sets`` seeded random sets of worker ids
(shaped like the runtime's UUIDv7 ids: workers started within a few seconds of each other share
their leading timestamp digits; ``--ids v4`` for random UUIDs), it prints

- max/min of the buckets each worker owns (median and worst over the sets),
- the buckets a join (one more id) and a leave (one member less) move, as a ratio to the ideal
  ``1024 / n`` of the larger set (median and worst), and how many of them moved between two
  unchanged workers (median/worst),
- the time to build the assignment for one set of ``n`` ids (median of ``--repeat``).

``--headroom`` lists the caps ``HashRing`` is measured at, in percent above an even share
(``none``: no cap, i.e. plain rendezvous).
"""

import argparse
import bisect
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence

from app.queue.ring import HEADROOM_PERCENT, HashRing, fnv1a_32
from app.queue.schema import BUCKET_COUNT

#: Owner of each bucket, for a set of worker ids.
Scheme = Callable[[Sequence[str]], list[str | None]]

#: A headroom that never caps (every bucket fits on one worker of up to 1,000 workers).
NO_CAP = 100_000


def old_ring(workers: Sequence[str], vnodes: int = 160) -> list[str | None]:
    """The ring before issue 12, for comparison only: FNV-1a vnodes, FNV-1a bucket points."""
    points = sorted(
        (fnv1a_32(f"{worker}#{i}".encode()), worker) for worker in workers for i in range(vnodes)
    )
    hashes = [point for point, _ in points]
    owners = [worker for _, worker in points]
    return [
        owners[bisect.bisect_left(hashes, fnv1a_32(f"bucket:{b}".encode())) % len(owners)]
        for b in range(BUCKET_COUNT)
    ]


def hash_ring(headroom: int) -> Scheme:
    def owners(workers: Sequence[str]) -> list[str | None]:
        ring = HashRing(workers, headroom_percent=headroom)
        return [ring.owner(b) for b in range(BUCKET_COUNT)]

    return owners


def worker_ids(rng: random.Random, count: int, kind: str) -> list[str]:
    """``count`` distinct ids as the runtime makes them (UUIDv7), or random UUIDv4s."""
    if kind == "v4":
        return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]
    started = 1_700_000_000_000 + rng.randrange(10**10)
    ids = []
    for _ in range(count):
        ms = started + rng.randrange(5_000)
        value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62)
        ids.append(str(uuid.UUID(int=value | rng.getrandbits(62))))
    return ids


def balance(owners: list[str | None], workers: Sequence[str]) -> float:
    counts = Counter(owners)
    shares = [counts[worker] for worker in workers]
    return max(shares) / max(1, min(shares))


def movement(before: list[str | None], after: list[str | None], changed: str) -> tuple[int, int]:
    """(buckets that changed owner, those of them that moved between two unchanged workers)."""
    moved = [b for b in range(BUCKET_COUNT) if before[b] != after[b]]
    return len(moved), sum(changed not in (before[b], after[b]) for b in moved)


def measure(scheme: Scheme, n: int, sets: int, kind: str, repeat: int) -> dict[str, float]:
    ratios, joins, leaves, join_strays, leave_strays = [], [], [], [], []
    for seed in range(sets):
        rng = random.Random(f"{n}:{seed}")
        ids = worker_ids(rng, n + 1, kind)
        members, newcomer = ids[:n], ids[n]
        leaver = rng.choice(members)
        now = scheme(members)
        ratios.append(balance(now, members))
        moved, stray = movement(now, scheme([*members, newcomer]), newcomer)
        joins.append(moved / (BUCKET_COUNT / (n + 1)))
        join_strays.append(stray)
        moved, stray = movement(now, scheme([w for w in members if w != leaver]), leaver)
        leaves.append(moved / (BUCKET_COUNT / n))
        leave_strays.append(stray)
    ids = worker_ids(random.Random(n), n, kind)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        scheme(ids)
        times.append(time.perf_counter() - started)
    return {
        "ratio": statistics.median(ratios),
        "ratio_worst": max(ratios),
        "join": statistics.median(joins),
        "join_worst": max(joins),
        "join_stray": statistics.median(join_strays),
        "join_stray_worst": max(join_strays),
        "leave": statistics.median(leaves),
        "leave_worst": max(leaves),
        "leave_stray": statistics.median(leave_strays),
        "leave_stray_worst": max(leave_strays),
        "micros": statistics.median(times) * 1e6,
    }


def construction_micros(n: int, kind: str, repeat: int) -> float:
    """What a heartbeat pays when the member set did not change: building a ``HashRing``."""
    ids = worker_ids(random.Random(n), n, kind)
    started = time.perf_counter()
    for _ in range(repeat):
        HashRing(ids)
    return (time.perf_counter() - started) / repeat * 1e6


def headroom(value: str) -> int:
    return NO_CAP if value == "none" else int(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=100, help="random id sets per size")
    parser.add_argument("--sizes", type=int, nargs=2, default=[2, 16], metavar=("MIN", "MAX"))
    parser.add_argument("--ids", choices=["v7", "v4"], default="v7")
    parser.add_argument("--repeat", type=int, default=20, help="timed builds per size")
    parser.add_argument(
        "--headroom", type=headroom, nargs="+", default=[HEADROOM_PERCENT], metavar="PERCENT"
    )
    args = parser.parse_args()
    schemes: list[tuple[str, Scheme]] = [("old", old_ring)]
    for percent in args.headroom:
        label = "none" if percent == NO_CAP else f"{percent}%"
        schemes.append((f"new, cap {label}", hash_ring(percent)))
    print(
        f"{args.sets} {args.ids} id sets per size; movement as a ratio to 1024/n; "
        "strays: buckets moved between two unchanged workers"
    )
    for name, scheme in schemes:
        print(f"\n{name}")
        print(
            "   n | max/min med  worst | join med worst strays | leave med worst strays | build µs"
        )
        for n in range(args.sizes[0], args.sizes[1] + 1):
            r = measure(scheme, n, args.sets, args.ids, args.repeat)
            print(
                f"  {n:2} | {r['ratio']:7.3f} {r['ratio_worst']:6.2f}"
                f" | {r['join']:8.3f} {r['join_worst']:5.2f} {r['join_stray']:3.0f}/"
                f"{r['join_stray_worst']:<3.0f}"
                f"| {r['leave']:9.3f} {r['leave_worst']:5.2f} {r['leave_stray']:3.0f}/"
                f"{r['leave_stray_worst']:<3.0f}"
                f"| {r['micros']:8.0f}"
            )
    sizes = (args.sizes[0], args.sizes[1])
    print(
        "\nHashRing construction alone (a heartbeat with no membership change): "
        + ", ".join(f"n={n}: {construction_micros(n, args.ids, 1000):.1f} µs" for n in sizes)
    )


if __name__ == "__main__":
    main()
