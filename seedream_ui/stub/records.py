"""What the stand-in remembers: recorded requests, the fault queue and the images it serves.

Shared by the server thread and the test thread, hence the lock.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from seedream_ui.stub.config import check_choice
from seedream_ui.stub.faults import FAULTS

__all__ = ["StoredImage", "StubState"]

_IMAGE_STORE_BYTES = 384 * 1024 * 1024  # the oldest images are forgotten past this


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    image_format: str


class StubState:
    """Recorded requests, the fault queue and served images; thread-safe, because tests read it directly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._faults: deque[str] = deque()
        self._images: OrderedDict[str, StoredImage] = OrderedDict()
        self._image_bytes = 0
        self._fetches = 0
        # Set when the server stops, so that `hang` and latency sleeps end instead of holding shutdown.
        self.stopping = threading.Event()

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._records.append(entry)
        return entry

    def set_status(self, entry: dict[str, Any], status: int | None) -> None:
        with self._lock:
            entry["status"] = status

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._records)

    def image_fetches(self) -> int:
        with self._lock:
            return self._fetches

    def queue_faults(self, faults: Iterable[str]) -> list[str]:
        faults = list(faults)
        for fault in faults:
            check_choice("fault", fault, FAULTS)
        with self._lock:
            self._faults.extend(faults)
            return list(self._faults)

    def queued_faults(self) -> list[str]:
        with self._lock:
            return list(self._faults)

    def pop_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def reset(self) -> None:
        """Forget records, queued faults and the fetch counter (served images stay fetchable)."""
        with self._lock:
            self._records.clear()
            self._faults.clear()
            self._fetches = 0

    def store_image(self, image: StoredImage) -> str:
        image_id = uuid.uuid4().hex
        with self._lock:
            self._images[image_id] = image
            self._image_bytes += len(image.data)
            while self._image_bytes > _IMAGE_STORE_BYTES and len(self._images) > 1:
                _, old = self._images.popitem(last=False)
                self._image_bytes -= len(old.data)
        return image_id

    def fetch_image(self, image_id: str) -> StoredImage | None:
        with self._lock:
            self._fetches += 1
            return self._images.get(image_id)
