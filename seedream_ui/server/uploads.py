"""Per-visitor upload accounting: a rate per minute and a disk quota per client address.

Gradio keeps every upload until its cache sweep (hours later) and has no per-visitor bound, so one anonymous
client could fill the disk. The ledger remembers which files each address uploaded; their live size on disk is
the quota's measure, so files Gradio (or we) delete give the quota back by themselves.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Multipart framing around the files themselves (boundaries, part headers) for one upload request.
MULTIPART_OVERHEAD = 256 * 1024
WINDOW_S = 60.0


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str


@dataclass
class UploadLedger:
    per_minute: int
    quota_bytes: int
    max_request_bytes: int  # the most one upload request may carry (all its files)
    clock: Callable[[], float] = time.monotonic
    _times: dict[str, deque[float]] = field(default_factory=dict)
    _files: dict[str, set[Path]] = field(default_factory=dict)

    def admit(self, client: str) -> Refusal | None:
        """Count one upload request from `client`, or say why it is refused."""
        now = self.clock()
        times = self._times.setdefault(client, deque())
        while times and now - times[0] >= WINDOW_S:
            times.popleft()
        if len(times) >= self.per_minute:
            return Refusal(
                429,
                f"Too many uploads from your address: at most {self.per_minute} a minute. "
                "Please wait a minute and try again.",
            )
        if self.remaining(client) <= 0:
            return self.quota_refusal()
        times.append(now)
        self._forget_idle()
        return None

    def quota_refusal(self) -> Refusal:
        return Refusal(
            429,
            f"Your uploads on this server have reached {self.quota_bytes // 2**20} MB. "
            "Remove some reference images or try again later.",
        )

    def request_limit(self, client: str) -> int:
        """The most bytes the next upload request from `client` may carry."""
        return min(self.max_request_bytes, self.remaining(client) + MULTIPART_OVERHEAD)

    def remaining(self, client: str) -> int:
        return self.quota_bytes - self.used(client)

    def used(self, client: str) -> int:
        files = self._files.get(client, set())
        total = 0
        for path in list(files):
            try:
                total += path.stat().st_size
            except OSError:  # deleted (cache sweep, shutdown): no longer counts
                files.discard(path)
        return total

    def record(self, client: str, paths: Iterable[str]) -> None:
        self._files.setdefault(client, set()).update(Path(p) for p in paths)

    def purge(self) -> int:
        """Delete every recorded upload and its folder once empty; return how many files went."""
        count = 0
        for files in self._files.values():
            for path in files:
                try:
                    path.unlink()
                    count += 1
                except OSError:
                    pass
                # Gradio puts each upload in a folder named by its content hash; shared by identical files.
                with contextlib.suppress(OSError):
                    path.parent.rmdir()
        self._files.clear()
        return count

    def _forget_idle(self) -> None:
        # Keeps the ledger from growing with every address ever seen.
        if len(self._times) > 10_000:
            now = self.clock()
            for client in [c for c, t in self._times.items() if not t or now - t[-1] >= WINDOW_S]:
                del self._times[client]
