"""A bounded memory of recent results, shared by the caches of the service.

`Remembered` keeps the `size` most recently used entries of a mapping (least recently used go
first), behind a lock, so that threads serving requests can share it: the query vectors
(`retriever.QueryVectors`), a snapshot's filter masks (`retriever.Snapshot`), and the
reader's answers and model replies (`answering/memo.py`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Remembered(Generic[K, V]):
    """A thread-safe mapping that keeps its `size` most recently used entries (0: none).
    `get` gives None for a key it does not hold, so None is never stored as a value."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
