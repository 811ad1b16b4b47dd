"""One line per failed request in the log, instead of Gradio's 30-75-line tracebacks.

Gradio reports every bad request (a wrong input count, a pydantic error, an unknown fn_index) with
`traceback.print_exc()` to stderr: anyone can flood the log with a loop of bad requests. `CondensedTracebacks`
wraps stderr and turns each such traceback into its last line. Tracebacks written in one piece, as `logging`
writes them (our own `log.exception` for a bug of ours), and anything the main thread writes (start-up,
shutdown) pass through whole: visitors' requests are served on the server's own thread.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

_START = "Traceback (most recent call last):\n"
_CHAIN = ("\nDuring handling of the above exception", "\nThe above exception was the direct cause")


class CondensedTracebacks:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._inside = False

    def write(self, text: str) -> int:
        if threading.current_thread() is threading.main_thread():
            return self._stream.write(text)  # start-up and shutdown: not a visitor's doing, shown whole
        if text == _START:  # print_exc writes the header as a chunk of its own
            self._inside = True
            return len(text)
        if self._inside:
            if text.startswith("  ") or text.startswith(_CHAIN) or not text.strip():
                return len(text)  # a frame, a source line or a chain header: dropped
            self._inside = False
            first = text.strip().splitlines()[0]
            self._stream.write(f"error: {first[:300]}\n")
            return len(text)
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def condense_tracebacks() -> None:
    """Install on this process's stderr (app.py does; tests keep pytest's own capture)."""
    if not isinstance(sys.stderr, CondensedTracebacks):
        sys.stderr = CondensedTracebacks(sys.stderr)
