"""Recently verified API keys, so a request need not look its key up every time.

Entries are keyed by the key's SHA-256, never the key, and live for ``ttl``: a key revoked in the
database keeps working in a process for at most that long. Only valid keys are cached, so
guessing cannot fill it.
"""

import time
import uuid
from datetime import timedelta


class KeyCache:
    def __init__(self, ttl: timedelta = timedelta(seconds=30), max_entries: int = 10_000) -> None:
        self.ttl = ttl.total_seconds()
        self.max_entries = max_entries
        self._entries: dict[str, tuple[uuid.UUID, float]] = {}

    def get(self, key_hash: str) -> uuid.UUID | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        tenant, expires = entry
        if expires < time.monotonic():
            del self._entries[key_hash]
            return None
        return tenant

    def put(self, key_hash: str, tenant: uuid.UUID) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # rare, and cheaper than tracking recency
        self._entries[key_hash] = (tenant, time.monotonic() + self.ttl)
