"""UUIDv7 identifiers generated in Python, so the schema runs on PostgreSQL 15 through 18.

Ids sort by creation time, which keeps primary-key indexes append-mostly and lets cursor
pagination use the id alone. Within one millisecond a 12-bit counter (RFC 9562, method 1) keeps
ids from one process strictly increasing.
"""

import os
import threading
import time
import uuid
from datetime import UTC, datetime

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """A new, time-ordered UUID (version 7)."""
    randomness = os.urandom(8)
    with _lock:
        (stamp,) = _stamps(1, randomness[0])
    return uuid.UUID(int=stamp | int.from_bytes(randomness) >> 2)


def uuid7_batch(count: int) -> list[uuid.UUID]:
    """``count`` new UUIDv7s in creation order, with one clock read, one lock and one
    ``urandom`` for the lot: a fan-out batch's ids cost half as much as made one by one."""
    if count == 0:  # no random byte to seed the counter with, and no id to order
        return []
    randomness = os.urandom(8 * count)
    with _lock:
        stamps = _stamps(count, randomness[0])
    return [
        uuid.UUID(int=stamp | int.from_bytes(randomness[8 * n : 8 * n + 8]) >> 2)
        for n, stamp in enumerate(stamps)
    ]


def _stamps(count: int, seed: int) -> list[int]:
    """The time, version, counter and variant bits of the next ``count`` ids (62 random bits
    are left for the caller); called under ``_lock``."""
    global _last_ms, _counter
    now_ms = time.time_ns() // 1_000_000
    if now_ms > _last_ms:
        _last_ms = now_ms
        _counter = seed << 3 & 0x7FF  # a random start, with headroom before overflow
    else:
        _counter += 1
    stamps = []
    for _ in range(count):
        if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
            _last_ms += 1
            _counter = 0
        stamps.append(_last_ms << 80 | 0x7 << 76 | _counter << 64 | 0b10 << 62)
        _counter += 1
    _counter -= 1
    return stamps


def uuid7_floor(moment: datetime) -> uuid.UUID:
    """The smallest UUIDv7 of ``moment``'s millisecond: ``id >= uuid7_floor(t)`` means "since t"."""
    ms = int(moment.timestamp() * 1000)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0b10 << 62))


def uuid7_time(value: uuid.UUID) -> datetime:
    """When a UUIDv7 was made (millisecond precision)."""
    return datetime.fromtimestamp((value.int >> 80) / 1000, tz=UTC)
