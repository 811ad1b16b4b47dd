"""Prepare references: stage each one from its header (refusals, the fast path), then convert the rest.

Staging reads files and headers and Base64-encodes files sent as they are; it never decodes pixels. What needs
decoding becomes a `Conversion` with its cost estimate, run later under the process-wide decode budget.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

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
from seedream_ui.references.limits import (
    MAX_FILE_BYTES,
    MAX_REFERENCE_BYTES,
    MAX_REFERENCE_PIXELS,
    MAX_REQUEST_DECODE_PIXELS,
    DecodePlan,
    amount,
    megabytes,
)
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


def prepare_reference(
    source: Source,
    *,
    name: str | None = None,
    max_bytes: int = MAX_REFERENCE_BYTES,
    max_pixels: int = MAX_REFERENCE_PIXELS,
) -> PreparedReference:
    """Prepare one reference image in this thread, or raise ReferenceImageError naming it. Blocks: not for servers.

    A `str` is a URL if it starts with http:// or https://, a data URI if it starts with data:, else a path.
    An image over `max_pixels` is downscaled to fit, keeping its shape. A JPEG is decoded straight at 1/2,
    1/4 or 1/8 scale, the largest that fits: several times faster than decoding it whole and resizing, and it
    still keeps more than a quarter of `max_pixels`, far more detail than a reference image needs.
    """
    staged = stage(source, name, max_bytes, max_pixels)
    return staged if isinstance(staged, PreparedReference) else run_blocking(staged)


def prepare_references(
    sources: Sequence[Source],
    *,
    names: Sequence[str | None] | None = None,
    max_bytes: int = MAX_REFERENCE_BYTES,
    max_pixels: int = MAX_REFERENCE_PIXELS,
    max_workers: int | None = None,
) -> list[PreparedReference]:
    """Prepare several references in order; the first failing one (in order) raises. Blocks: for scripts.

    Bytes and PIL images without a name are called "image N" (N counting from 1). Images that need decoding
    are converted on up to `max_workers` threads of its own (Pillow releases the GIL while decoding, resizing
    and encoding), each under the process-wide decode budget.
    """
    staged, failure = stage_all(sources, labels_for(sources, names), max_bytes, max_pixels)
    pending = sum(isinstance(item, Conversion) for item in staged)
    workers = min(pending, max_workers or shared.WORKERS)
    results: list[PreparedReference]
    if workers <= 1:
        results = [item if isinstance(item, PreparedReference) else run_blocking(item) for item in staged]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reference") as pool:
            futures = [item if isinstance(item, PreparedReference) else pool.submit(run_blocking, item) for item in staged]
            try:
                results = [item if isinstance(item, PreparedReference) else item.result() for item in futures]
            except BaseException:
                for item in futures:
                    if isinstance(item, Future):
                        item.cancel()  # do not decode the rest of a batch that already failed
                raise
    if failure is not None:
        raise failure
    return results


async def prepare_references_async(
    sources: Sequence[Source],
    *,
    names: Sequence[str | None] | None = None,
    max_bytes: int = MAX_REFERENCE_BYTES,
    max_pixels: int = MAX_REFERENCE_PIXELS,
) -> list[PreparedReference]:
    """`prepare_references` for servers: the same results and errors, and nothing heavy on the event loop.

    Staging (reading, headers, the fast path's Base64) runs as one job on the shared reference pool; each
    conversion waits, without holding a thread, for its estimated memory in the process-wide decode budget,
    then runs on the pool. A request has at most `WORKERS` jobs on the pool at once, so requests take turns.
    Cancelling the call cancels what has not started; what runs finishes and gives its budget back.
    """
    labels = labels_for(sources, names)
    staged, failure = await asyncio.wrap_future(
        shared.submit(lambda: stage_all(sources, labels, max_bytes, max_pixels))
    )
    turns = asyncio.Semaphore(shared.WORKERS)
    pending = [
        item if isinstance(item, PreparedReference) else asyncio.ensure_future(_convert_async(item, turns))
        for item in staged
    ]
    tasks = [item for item in pending if isinstance(item, asyncio.Future)]
    for task in tasks:  # a failure after the first one in order is never awaited: not worth a warning
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
    try:
        results = [item if isinstance(item, PreparedReference) else await item for item in pending]
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
    if failure is not None:
        raise failure
    return results


def labels_for(sources: Sequence[Source], names: Sequence[str | None] | None) -> list[str | None]:
    labels = list(names) if names is not None else [None] * len(sources)
    if len(labels) != len(sources):
        raise ValueError("names must have one entry per source")
    return [
        f"image {index}" if label is None and isinstance(source, (bytes, bytearray, Image.Image)) else label
        for index, (source, label) in enumerate(zip(sources, labels), start=1)
    ]


def stage_all(
    sources: Sequence[Source], labels: Sequence[str | None], max_bytes: int, max_pixels: int
) -> tuple[list[Staged], ReferenceImageError | None]:
    """Stage in order up to the first refusal of one image, which is returned (those before it may still fail
    first, so they are still converted). A request over its pixel cap is refused here and now, decoding nothing:
    it would fail anyway, and converting its first images would only spend the CPU it is capped to save.
    """
    staged: list[Staged] = []
    decoded = 0
    for source, label in zip(sources, labels):
        try:
            item = stage(source, label, max_bytes, max_pixels)
        except ReferenceImageError as error:
            return staged, error
        if isinstance(item, Conversion):
            decoded += item.plan.pixels
            if decoded > MAX_REQUEST_DECODE_PIXELS:
                raise ReferenceImageError(
                    f"{item.label} brings the images to decode in this request to {amount(decoded / 1e6)} "
                    f"megapixels; at most {amount(MAX_REQUEST_DECODE_PIXELS / 1e6)} are decoded per request. "
                    "Use fewer or smaller images.",
                    source=item.label,
                )
        staged.append(item)
    return staged, None


def run_blocking(conversion: Conversion) -> PreparedReference:
    """Run a conversion in this thread once the decode budget has room for it."""
    budget = shared.decode_budget()
    budget.acquire_blocking(conversion.plan.cost)
    try:
        return conversion.run()
    finally:
        budget.release(conversion.plan.cost)


async def _convert_async(conversion: Conversion, turns: asyncio.Semaphore) -> PreparedReference:
    budget, cost = shared.decode_budget(), conversion.plan.cost
    async with turns:
        await budget.acquire(cost)

        def job() -> PreparedReference:
            try:
                return conversion.run()
            finally:
                budget.release(cost)

        def give_back_if_cancelled(done: Future[PreparedReference]) -> None:
            if done.cancelled():  # a job cancelled before it started never runs its `finally`
                budget.release(cost)

        future = shared.submit(job)
        future.add_done_callback(give_back_if_cancelled)
        return await asyncio.wrap_future(future)


# ---------------------------------------------------------------------------------------------------------
# Staging one source


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
        return _stage_bytes(_read_file(path, label), label, max_bytes, max_pixels, lambda: _read_file(path, label))
    raise ReferenceImageError(
        f"{name or 'This reference'} is neither a file, an image nor a URL ({type(source).__name__}).",
        source=name,
    )


def _read_file(path: Path, label: str) -> bytes:
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
    fmt, header = inspect(data, label)
    if not can_send_as_is(fmt, data, header, max_bytes, max_pixels):
        return _conversion(fmt, header, label, max_bytes, max_pixels, lambda: data, len(data))
    # Keep the caller's text when it is already exactly right, else only fix the header.
    exact = clean == payload and (mime or "").lower() == f"image/{fmt}"
    value = text if exact else f"data:image/{fmt};base64,{clean}"
    return PreparedReference(value, label, fmt, header.width, header.height, reencoded=False)


def _stage_bytes(data: bytes, label: str, max_bytes: int, max_pixels: int, reload: Callable[[], bytes]) -> Staged:
    """The fast path (the original bytes in Base64) if the API surely takes them, else the conversion to do."""
    fmt, header = inspect(data, label)
    if can_send_as_is(fmt, data, header, max_bytes, max_pixels):
        return PreparedReference(data_uri(fmt, data), label, fmt, header.width, header.height, reencoded=False)
    return _conversion(fmt, header, label, max_bytes, max_pixels, reload, len(data))


def _conversion(
    fmt: str,
    header: Image.Image,
    label: str,
    max_bytes: int,
    max_pixels: int,
    reload: Callable[[], bytes],
    file_bytes: int,
) -> Conversion:
    plan = plan_decode(fmt, header, label, max_pixels, shared.decode_budget().capacity, file_bytes)
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
