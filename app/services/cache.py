"""Answers remembered for one state of the database.

Keys start with the change counter (the newest audit event id), which every
write moves on, so an entry can never outlive the data it was computed from:
after a write the old keys are simply never asked for again and age out.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class CounterCache:
    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        return None

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        found = self.get(key)
        if found is not None:
            return found  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
