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
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = int.from_bytes(os.urandom(2)) & 0x7FF  # leave headroom before overflow
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand_b = int.from_bytes(os.urandom(8)) >> 2  # 62 random bits
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


def uuid7_floor(moment: datetime) -> uuid.UUID:
    """The smallest UUIDv7 of ``moment``'s millisecond: ``id >= uuid7_floor(t)`` means "since t"."""
    ms = int(moment.timestamp() * 1000)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0b10 << 62))


def uuid7_time(value: uuid.UUID) -> datetime:
    """When a UUIDv7 was made (millisecond precision)."""
    return datetime.fromtimestamp((value.int >> 80) / 1000, tz=UTC)
