"""What the stand-in remembers, within bounds: recorded requests, the fault queue and the images it serves.

The offline preview runs the stand-in inside the app for as long as the app runs, so nothing here may grow
with use: records are the last `max_records` requests; the newest bodies are kept whole up to
`whole_body_bytes` in total (tests read what was sent), older ones are compacted (each reference image and
long value summarised: kind, format, length, hash). Served images are the newest `max_images` within
`max_image_bytes`; an evicted image's URL answers 410 Gone, a URL never issued 404.

Shared by the server thread and the test thread, hence the lock.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from seedream_ui.stub.config import StubConfig, check_choice
from seedream_ui.stub.faults import FAULTS
from seedream_ui.stub.references import summarise_references

__all__ = ["StoredImage", "StubState", "compact_body"]

_SHORT = 1024  # values up to this many characters of JSON stay as they are in a compacted record


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    image_format: str


@dataclass
class _Record:
    entry: dict[str, Any]
    body_bytes: int  # what the whole body costs to keep: its size as received
    whole: bool = True


class StubState:
    """Recorded requests, the fault queue and served images; thread-safe, because tests read it directly."""

    def __init__(self, config: StubConfig | None = None) -> None:
        config = config or StubConfig()
        self.max_records = config.max_records
        self.whole_body_bytes = config.whole_body_bytes
        self.max_images = config.max_stored_images
        self.max_image_bytes = config.max_stored_image_bytes
        self._lock = threading.Lock()
        self._records: deque[_Record] = deque()
        self._whole_bytes = 0
        self._faults: deque[str] = deque()
        self._images: OrderedDict[str, StoredImage] = OrderedDict()
        self._image_bytes = 0
        self._image_serial = 0
        self._image_secret = os.urandom(16)
        self._fetches = 0
        # Set when the server stops, so that `hang` and latency sleeps end instead of holding shutdown.
        self.stopping = threading.Event()

    # --- records ---------------------------------------------------------------------------------------------

    def record(self, entry: dict[str, Any], body_bytes: int) -> dict[str, Any]:
        """Keep a request's record; `entry["body"]` is its parsed body, costing `body_bytes` while whole.

        Summarising hashes every reference: call it off the event loop for large bodies.
        """
        entry["references"] = summarise_references(entry.get("body"))
        record = _Record(entry, body_bytes)
        with self._lock:
            self._records.append(record)
            self._whole_bytes += body_bytes
            while len(self._records) > self.max_records:
                self._forget(self._records.popleft())
            for old in self._records:  # oldest first, the newest last: it stays whole if it fits alone
                if self._whole_bytes <= self.whole_body_bytes:
                    break
                self._compact(old)
        return entry

    def _forget(self, record: _Record) -> None:
        if record.whole:
            self._whole_bytes -= record.body_bytes

    def _compact(self, record: _Record) -> None:
        if record.whole:
            record.entry["body"] = compact_body(record.entry.get("body"), record.entry["references"])
            record.entry["compacted"] = True
            record.whole = False
            self._whole_bytes -= record.body_bytes

    def set_status(self, entry: dict[str, Any], status: int | None) -> None:
        with self._lock:
            entry["status"] = status

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy([record.entry for record in self._records])

    def retained_bytes(self) -> int:
        """What the records cost beyond their fixed-size summaries: the sizes of the bodies kept whole."""
        with self._lock:
            return self._whole_bytes

    # --- faults ----------------------------------------------------------------------------------------------

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
            self._whole_bytes = 0
            self._faults.clear()
            self._fetches = 0

    # --- images ----------------------------------------------------------------------------------------------

    def store_image(self, image: StoredImage) -> str:
        with self._lock:
            self._image_serial += 1
            image_id = self._image_id(self._image_serial)
            self._images[image_id] = image
            self._image_bytes += len(image.data)
            while len(self._images) > 1 and (
                len(self._images) > self.max_images or self._image_bytes > self.max_image_bytes
            ):
                _, old = self._images.popitem(last=False)
                self._image_bytes -= len(old.data)
        return image_id

    def fetch_image(self, image_id: str) -> StoredImage | None:
        with self._lock:
            self._fetches += 1
            return self._images.get(image_id)

    def was_issued(self, image_id: str) -> bool:
        """Whether this stand-in ever handed out the id (an evicted image is gone, not unknown)."""
        serial, _, _ = image_id.partition("-")
        if not 0 < len(serial) <= 16:
            return False
        try:
            number = int(serial, 16)
        except ValueError:
            return False
        return hmac.compare_digest(self._image_id(number), image_id)

    def stored_images(self) -> tuple[int, int]:
        """(how many images are kept, their bytes)."""
        with self._lock:
            return len(self._images), self._image_bytes

    def image_fetches(self) -> int:
        with self._lock:
            return self._fetches

    def _image_id(self, serial: int) -> str:
        # Serial plus a keyed hash: no table of evicted ids is needed to tell "gone" from "never existed".
        mac = hmac.new(self._image_secret, str(serial).encode(), hashlib.sha256).hexdigest()[:20]
        return f"{serial:x}-{mac}"


def compact_body(body: Any, references: list[dict[str, Any]]) -> Any:
    """A small stand-in for a body: short values as they were, references and long values summarised."""
    if not isinstance(body, dict):
        return _compact_value(body)
    compact = {key: _compact_value(value) for key, value in body.items()}
    if isinstance(body.get("image"), list):
        compact["image"] = references
    return compact


def _compact_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):  # JSON numbers have at most 4300 digits
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) <= _SHORT:
        return value
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    kind = "text" if isinstance(value, str) else "json"
    return {"kind": kind, "length": len(text), "sha256": digest, "start": text[:80]}
