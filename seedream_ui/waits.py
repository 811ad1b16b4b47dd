"""Honest waits: how long this demo's recent generations of the same size and count took, and the words the
page shows while waiting, after a failure and for sequences (plain functions; no Gradio in here)."""

from __future__ import annotations

import statistics
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from pathlib import Path

# A few recent durations per kind of generation are enough for a median, and the memory stays tiny
# however long the demo runs: at most KINDS x SAMPLES floats.
SAMPLES = 5
KINDS = 64
# Published third-party figures for one image (seedream api-notes.md): shown until this demo has its own.
TYPICAL = "a Seedream image usually takes 20-60 s; a sequence or 4K takes longer"


def wait_key(size: object, sequential: object, max_images: object) -> str:
    """What makes generations comparable: the size sent and the most images asked for."""
    count = max_images if sequential == "auto" and isinstance(max_images, (int, float)) else 1
    return f"{str(size).strip().upper()}|{int(count)}"


class WaitTimes:
    """The last SAMPLES durations of each of the KINDS most recently used (size, count) keys, in memory."""

    def __init__(self) -> None:
        self._times: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()  # the MCP tool and the page may record from different threads

    def record(self, key: str, seconds: float) -> None:
        with self._lock:
            times = self._times.pop(key, None) or deque(maxlen=SAMPLES)
            times.append(seconds)
            self._times[key] = times
            while len(self._times) > KINDS:
                self._times.popitem(last=False)

    def estimate(self, key: str) -> tuple[float, int] | None:
        """(median seconds, how many generations it is from), or None when none of this kind ran yet."""
        with self._lock:
            times = list(self._times.get(key, ()))
        return (statistics.median(times), len(times)) if times else None


def estimate_text(times: WaitTimes, size: object, sequential: object, max_images: object) -> str:
    """The line under the elapsed seconds, e.g. "usually about 25 s here for 2560x1440 (last 3)"."""
    found = times.estimate(wait_key(size, sequential, max_images))
    if found is None:
        return TYPICAL
    seconds, count = found
    what = f"{str(size).strip()}, up to {int(max_images)} images" if sequential == "auto" else str(size).strip()  # type: ignore[call-overload]
    runs = "the last generation" if count == 1 else f"median of the last {count}"
    return f"about {seconds:.0f} s here for {what} ({runs})"


def result_captions(files: Sequence[Path]) -> list[tuple[str, str]]:
    """Gallery items: "1 of 3 · name" when a generation made several images, the file name alone otherwise."""
    total = len(files)
    if total < 2:
        return [(str(path), path.name) for path in files]
    return [(str(path), f"{n} of {total} · {path.name}") for n, path in enumerate(files, start=1)]


def sequence_hint(max_images: object) -> str:
    count = int(max_images) if isinstance(max_images, (int, float)) and max_images >= 1 else 4
    return (
        f"The model decides how many images to make (at most {count}): say how many in the prompt, "
        f"e.g. 'a series of {count} images'."
    )


def failed_status(message: str, had_results: bool) -> str:
    """The status line after a failed attempt: what failed, and what the results shown are."""
    earlier = " The results below are from an earlier generation." if had_results else ""
    return f"✗ The last attempt failed: {message.strip()}{earlier}"


def stopped_status(had_results: bool) -> str:
    earlier = " The results below are from an earlier generation." if had_results else ""
    return f"■ Stopped waiting; nothing more was sent. Your inputs are unchanged.{earlier}"
