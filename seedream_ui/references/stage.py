"""Stage one reference from its header: refusals, the fast path, or the conversion still to do (and its cost)."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageFile

from seedream_ui.errors import ReferenceImageError
from seedream_ui.formats import split_data_uri
from seedream_ui.references import budget as shared
from seedream_ui.references.checks import (
    can_send_as_is,
    check_geometry,
    inspect,
    pil_errors,
    plan_decode,
)
from seedream_ui.references.convert import data_uri, decode, finish
from seedream_ui.references.limits import MAX_FILE_BYTES, DecodePlan, megabytes
from seedream_ui.references.urls import shorten, url_problem

Source = str | os.PathLike[str] | bytes | bytearray | Image.Image


@dataclass(frozen=True)
class PreparedReference:
    """One reference image, ready for `GenerateRequest.images`."""

    value: str = field(repr=False)  # the URL unchanged, or a data URI (megabytes: kept out of reprs)
    name: str  # what to call it in messages: the file name, "image 3", or the URL
    format: str | None  # jpeg, png, ...; None for URLs
    width: int | None
    height: int | None
    reencoded: bool  # False when the original bytes (or URL) are sent as they are


@dataclass(frozen=True)
class Conversion:
    """The expensive rest of preparing one reference (decode, convert, encode), and what it will cost."""

    run: Callable[[], PreparedReference]
    plan: DecodePlan
    label: str


Staged = PreparedReference | Conversion


def stage(source: Source, name: str | None, max_bytes: int, max_pixels: int) -> Staged:
    """The finished reference when the cheap checks suffice (URL, fast path), else the conversion still to do.

    Everything here reads headers only; refusals that need no decoding happen here.
    """
    if isinstance(source, Image.Image):
        label = name or "image"
        check_geometry(source.size, label)  # an image from Image.open may not be decoded yet
        plan = plan_decode("pil", source, label, max_pixels, shared.decode_budget().capacity)
        return Conversion(lambda: _convert_pil(source, label, max_bytes, max_pixels), plan, label)
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), name or "image"
        return _stage_bytes(data, label, max_bytes, max_pixels, lambda: data)
    if isinstance(source, str):
        text = source.strip()
        if not text:
            raise ReferenceImageError(
                f"{name or 'A reference image'} is empty: give a file, an image or a URL.", source=name
            )
        if text[:7].lower() == "http://" or text[:8].lower() == "https://":
            problem = url_problem(text)
            if problem:
                raise ReferenceImageError(f"{shorten(text)} {problem}", source=name or text)
            return PreparedReference(text, name or text, None, None, None, reencoded=False)
        if text[:5].lower() == "data:":
            return _stage_data_uri(text, name or "image", max_bytes, max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or path.name or str(path)
        # The bytes are not kept for later: a batch of large files would otherwise all sit in memory at once.
        return _stage_bytes(read_file(path, label), label, max_bytes, max_pixels, lambda: read_file(path, label))
    raise ReferenceImageError(
        f"{name or 'This reference'} is neither a file, an image nor a URL ({type(source).__name__}).",
        source=name,
    )


def read_file(path: Path, label: str) -> bytes:
    try:
        with path.open("rb") as file:
            # read(n) allocates n bytes up front, so ask for the size the file says it has; a size of 0 may
            # be a pipe or /dev/zero, which the cap still bounds.
            size = os.fstat(file.fileno()).st_size
            data = file.read(min(size, MAX_FILE_BYTES) + 1 if size else MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ReferenceImageError(f"{label} was not found.", source=label) from None
    except IsADirectoryError:
        raise ReferenceImageError(f"{label} is a folder, not an image file.", source=label) from None
    except PermissionError:
        raise ReferenceImageError(f"{label} could not be opened (permission denied).", source=label) from None
    except OSError as exc:
        raise ReferenceImageError(f"{label} could not be read ({exc.strerror or exc}).", source=label) from None
    if len(data) > MAX_FILE_BYTES:
        raise ReferenceImageError(
            f"{label} is larger than {megabytes(MAX_FILE_BYTES)}, too large to use as a reference image.",
            source=label,
        )
    return data


def _stage_data_uri(text: str, label: str, max_bytes: int, max_pixels: int) -> Staged:
    parts = split_data_uri(text)
    if parts is None:
        raise ReferenceImageError(f"{label} is a data URI without Base64 image data.", source=label)
    mime, payload = parts
    clean = "".join(payload.split())
    clean += "=" * (-len(clean) % 4)
    try:
        data = base64.b64decode(clean, validate=True)
    except (binascii.Error, ValueError):
        raise ReferenceImageError(f"{label} is a data URI whose Base64 data is corrupt.", source=label) from None
    fmt, header, plan = assess(data, label, max_bytes, max_pixels)
    if plan is not None:
        return _conversion(fmt, header, label, max_bytes, max_pixels, lambda: data, plan)
    # Keep the caller's text when it is already exactly right, else only fix the header.
    exact = clean == payload and (mime or "").lower() == f"image/{fmt}"
    value = text if exact else f"data:image/{fmt};base64,{clean}"
    return PreparedReference(value, label, fmt, header.width, header.height, reencoded=False)


def _stage_bytes(data: bytes, label: str, max_bytes: int, max_pixels: int, reload: Callable[[], bytes]) -> Staged:
    """The fast path (the original bytes in Base64) if the API surely takes them, else the conversion to do."""
    fmt, header, plan = assess(data, label, max_bytes, max_pixels)
    if plan is None:
        return PreparedReference(data_uri(fmt, data), label, fmt, header.width, header.height, reencoded=False)
    return _conversion(fmt, header, label, max_bytes, max_pixels, reload, plan)


def assess(data: bytes, label: str, max_bytes: int, max_pixels: int) -> tuple[str, ImageFile.ImageFile, DecodePlan | None]:
    """What staging decides from the header: (format, header, the decode plan, or None when the bytes are sent as
    they are). Refusals raise ReferenceImageError. The reference tray's preflight asks the same question."""
    fmt, header = inspect(data, label)
    if can_send_as_is(fmt, data, header, max_bytes, max_pixels):
        return fmt, header, None
    return fmt, header, plan_decode(fmt, header, label, max_pixels, shared.decode_budget().capacity, len(data))


def _conversion(
    fmt: str,
    header: Image.Image,
    label: str,
    max_bytes: int,
    max_pixels: int,
    reload: Callable[[], bytes],
    plan: DecodePlan,
) -> Conversion:
    staged = (fmt, header.mode, header.size)
    return Conversion(lambda: _convert_bytes(reload(), label, max_bytes, max_pixels, staged), plan, label)


def _convert_bytes(
    data: bytes, label: str, max_bytes: int, max_pixels: int, staged: tuple[str, str, tuple[int, int]]
) -> PreparedReference:
    """Decode (first frame, at reduced scale when possible), convert and re-encode."""
    fmt, header = inspect(data, label)  # checked again: the file may have been read again from disk
    if (fmt, header.mode, header.size) != staged:  # its cost was estimated from what it was then
        raise ReferenceImageError(f"{label} changed while it was being prepared; try again.", source=label)
    with pil_errors(label):
        image = decode(header, fmt, max_pixels)
        value, out_fmt, width, height = finish(image, label, max_bytes, max_pixels, owned=True)
    return PreparedReference(value, label, out_fmt, width, height, reencoded=True)


def _convert_pil(image: Image.Image, label: str, max_bytes: int, max_pixels: int) -> PreparedReference:
    with pil_errors(label):  # never frees or changes the caller's image
        value, fmt, width, height = finish(image, label, max_bytes, max_pixels, owned=False)
    return PreparedReference(value, label, fmt, width, height, reencoded=True)
