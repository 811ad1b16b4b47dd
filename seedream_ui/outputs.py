"""Keeping results: files with useful names, a zip with request.json, and their clean-up."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from seedream_ui.formats import is_http_url, split_data_uri
from seedream_ui.request import GenerateRequest

# Result files older than this are deleted (by our purge, and by Gradio's delete_cache for its own files).
RESULT_MAX_AGE_S = 6 * 3600
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "bmp": "bmp", "tiff": "tiff"}
STAMP = "%Y%m%d-%H%M%S"  # a generation's time in its folder's and its files' names
RESULT_NAME = re.compile(r"seedream-(\d{8}-\d{6})-\d{1,3}\.[a-z]{3,4}")  # what result_filename gives


class ImageLike(Protocol):
    # Read-only members, so frozen dataclasses (the client's GeneratedImage) match.
    @property
    def data(self) -> bytes: ...

    @property
    def format(self) -> str: ...


@dataclass(frozen=True)
class SavedGeneration:
    folder: Path
    files: tuple[Path, ...]


def result_filename(stamp: datetime, index: int, fmt: str) -> str:
    """`seedream-20261124-153012-2.png`: sortable, unique per generation, in the image's own format."""
    return f"seedream-{stamp:{STAMP}}-{index}.{EXTENSIONS.get(fmt.lower(), fmt.lower())}"


def saved_copies(root: Path, file_name: str) -> list[Path]:
    """Where save_generation may have written a result of this name: in a folder of `root` named by its stamp."""
    name = RESULT_NAME.fullmatch(file_name)
    return list(root.glob(f"{name[1]}-*/{file_name}")) if name else []


def request_record(request: GenerateRequest, reference_names: Sequence[str] = ()) -> dict[str, Any]:
    """The parameters used, for request.json: the API body with references named, not inlined.

    Base64 references are megabytes and the user already has them; URLs are kept as they were sent.
    The API key is not part of a request, so it cannot end up here.
    """
    record = request.to_payload()
    if request.images:
        names = [*reference_names, *[""] * len(request.images)][: len(request.images)]  # unnamed ones get a number
        record["image"] = [
            value if is_http_url(value) else f"{name or f'reference {i}'} ({_data_kind(value)})"
            for i, (value, name) in enumerate(zip(request.images, names, strict=True), start=1)
        ]
    return record


def save_generation(root: Path, images: Sequence[ImageLike], *, stamp: datetime | None = None) -> SavedGeneration:
    """Write each image's original bytes (no re-encoding) in a new folder of its own."""
    stamp = stamp or datetime.now()
    # Files are served to whoever knows their path, and a visitor sees the root in their own results' URLs:
    # 128 random bits make another visitor's folder unguessable.
    folder = root / f"{stamp:{STAMP}}-{secrets.token_hex(16)}"
    folder.mkdir(parents=True)
    files = []
    for index, image in enumerate(images, start=1):
        path = folder / result_filename(stamp, index, image.format)
        path.write_bytes(image.data)
        files.append(path)
    return SavedGeneration(folder, tuple(files))


def zip_path_for(files: Sequence[Path]) -> Path:
    """Where the zip of a generation goes: beside its images, named like them without the index."""
    first = files[0]
    return first.with_name(first.stem.rsplit("-", 1)[0] + ".zip")


def zip_generation(files: Sequence[Path], record: Mapping[str, Any]) -> Path:
    """The zip of a generation's images and request.json, built on first use (most visitors never ask).

    Written under a temporary name and renamed, so two clicks at once never serve a half-written zip.
    """
    target = zip_path_for(files)
    if target.exists():
        return target
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
    # Images are already compressed: storing them is as small as deflating them, and much faster.
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in files:
            archive.write(path, arcname=path.name)
        archive.writestr(
            "request.json", json.dumps(record, indent=2, ensure_ascii=False), compress_type=zipfile.ZIP_DEFLATED
        )
    partial.replace(target)
    return target


def purge_older_than(root: Path, max_age_s: float) -> int:
    """Delete generation folders older than `max_age_s`; returns how many went. Keeps disk use bounded."""
    cutoff = time.time() - max_age_s
    removed = 0
    for child in root.iterdir() if root.exists() else ():
        if child.is_dir() and child.stat().st_mtime < cutoff:
            shutil.rmtree(child, ignore_errors=True)
            removed += 1
    return removed


def _data_kind(value: str) -> str:
    parts = split_data_uri(value)
    mime = parts[0] if parts and parts[0] else "Base64 image"
    size = len(parts[1] if parts else value) * 3 // 4
    return f"{mime}, {size / 1e6:.1f} MB, sent inline"
