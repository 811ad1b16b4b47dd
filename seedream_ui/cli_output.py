"""What `python -m seedream_ui generate` shows and writes: progress on stderr, result files, the JSON record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TextIO

from seedream_ui.errors import SeedreamError
from seedream_ui.outputs import request_record, result_filename
from seedream_ui.request import GenerateRequest


class ResultImage(Protocol):
    data: bytes
    format: str
    width: int
    height: int
    url: str | None


class Progress:
    """Lines on stderr. On a terminal a counter of elapsed seconds is redrawn in place while waiting;
    elsewhere (a log file, a pipe) only the start and end lines are written, so logs stay readable."""

    def __init__(self, stream: TextIO, interactive: bool | None = None) -> None:
        self.stream = stream
        self.interactive = _is_tty(stream) if interactive is None else interactive
        self._shown = -1  # the whole second last drawn
        self._drawn = False  # a counter line is on screen and must be cleared before the next line

    def note(self, text: str) -> None:
        self._line(text)

    def start(self, text: str) -> None:
        self._line(text)

    def tick(self, elapsed: float) -> None:
        if not self.interactive or int(elapsed) == self._shown:
            return
        self._shown = int(elapsed)
        self.stream.write(f"\r  waiting for the images… {self._shown} s")
        self.stream.flush()
        self._drawn = True

    def end(self, text: str, warnings: Sequence[str] = ()) -> None:
        self._line(text)
        for warning in warnings:
            self._line(f"⚠ {warning}")

    def _line(self, text: str) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")  # back to the start of the counter line and erase it
            self._drawn = False
        self.stream.write(text + "\n")
        self.stream.flush()


def write_results(
    out: Path, images: Sequence[ResultImage], request: GenerateRequest, names: Sequence[str], stamp: datetime
) -> tuple[list[Path], Path]:
    """Each image's original bytes, named like the page's downloads, and the request record beside them.

    Nothing already in `out` is overwritten: a name taken by an earlier run moves the time stamp on a second,
    and an existing request.json leaves this one named after its images.
    """
    stamp = _free_stamp(out, images, stamp)
    files = []
    for index, image in enumerate(images, start=1):
        path = out / result_filename(stamp, index, image.format)
        with open(path, "xb") as file:
            file.write(image.data)
        files.append(path)
    request_file = out / "request.json"
    if request_file.exists():
        request_file = out / f"{files[0].stem.rsplit('-', 1)[0]}-request.json"
    text = json.dumps(request_record(request, names), indent=2, ensure_ascii=False)
    with open(request_file, "x", encoding="utf-8") as file:
        file.write(text + "\n")
    return files, request_file


def success_record(
    files: Sequence[Path],
    images: Sequence[ResultImage],
    request_file: Path,
    elapsed: float,
    warnings: Sequence[str],
    request: GenerateRequest,
    names: Sequence[str],
    *,
    offline: bool,
) -> dict[str, Any]:
    """The --json record of a generation. `url` is where the API served the image (None when sent inline
    or when it was the offline preview's stand-in, which ends with this process)."""
    return {
        "ok": True,
        "files": [
            {
                "path": str(path),
                "format": image.format,
                "width": image.width,
                "height": image.height,
                "bytes": len(image.data),
                "url": None if offline else image.url,  # the in-process stand-in is gone when we exit
            }
            for path, image in zip(files, images, strict=True)
        ],
        "request_file": str(request_file),
        "elapsed": round(elapsed, 3),
        "warnings": list(warnings),
        "offline": offline,
        "request": request_record(request, names),
    }


def error_record(error: SeedreamError, exit_code: int) -> dict[str, Any]:
    return {
        "ok": False,
        "exit_code": exit_code,
        "error": {
            "type": type(error).__name__,
            "message": str(error),
            "status_code": getattr(error, "status_code", None),
        },
    }


def _free_stamp(out: Path, images: Sequence[ResultImage], stamp: datetime) -> datetime:
    while any((out / result_filename(stamp, i, image.format)).exists() for i, image in enumerate(images, start=1)):
        stamp += timedelta(seconds=1)
    return stamp


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
