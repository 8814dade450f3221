"""Recently checked API keys, so that a polling dashboard is not a query per request.

A key is trusted for ``ttl`` seconds after it was last read from the
database: revoking it takes effect at once in the process that revoked it and
within ``ttl`` seconds in the others. Each process also records a key's use
(last_used_at) at most once per resolution, instead of every request that
notices the record is stale racing to write it.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from app.services.keys import LAST_USED_RESOLUTION


@dataclass(frozen=True)
class CachedKey:
    id: int
    role: str
    organisation_id: int | None
    name: str
    last_used_at: datetime | None


class KeyCache:
    def __init__(self, ttl: float = 5.0, size: int = 10_000) -> None:
        self._ttl = ttl
        self._size = size
        self._entries: dict[str, tuple[float, CachedKey]] = {}
        self._last_touch: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> CachedKey | None:
        with self._lock:
            entry = self._entries.get(key_hash)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key_hash: str, key: CachedKey) -> None:
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + self._ttl, key)

    def forget(self, key_id: int) -> None:
        with self._lock:
            self._entries = {h: e for h, e in self._entries.items() if e[1].id != key_id}

    def touch_due(self, key: CachedKey, now: datetime) -> bool:
        """Whether the key's use is due to be recorded (without claiming it)."""
        last = self._last_touch.get(key.id) or key.last_used_at
        return last is None or now - last >= LAST_USED_RESOLUTION

    def claim_touch(self, key: CachedKey, now: datetime) -> bool:
        """True for the one request in this process that should record the key's use now."""
        with self._lock:
            if not self.touch_due(key, now):
                return False
            self._last_touch[key.id] = now
            return True
