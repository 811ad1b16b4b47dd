"""Prepare references: stage each one from its header (refusals, the fast path), then convert the rest.

Staging reads files and headers and Base64-encodes files sent as they are; it never decodes pixels. What needs
decoding becomes a `Conversion` with its cost estimate, run later under the process-wide decode budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from PIL import Image

from seedream_ui.errors import ReferenceImageError
from seedream_ui.references import budget as shared
from seedream_ui.references.limits import (
    MAX_REFERENCE_BYTES,
    MAX_REFERENCE_PIXELS,
    MAX_REQUEST_DECODE_PIXELS,
    amount,
)
from seedream_ui.references.stage import (
    Conversion,
    PreparedReference,
    Source,
    Staged,
    stage,
)


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
        for index, (source, label) in enumerate(zip(sources, labels, strict=True), start=1)
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
    for source, label in zip(sources, labels, strict=True):
        try:
            item = stage(source, label, max_bytes, max_pixels)
        except ReferenceImageError as error:
            return staged, error
        if isinstance(item, Conversion):
            decoded += item.plan.pixels
            check_request_decode(decoded, item.label)
        staged.append(item)
    return staged, None


def check_request_decode(decoded: int, label: str) -> None:
    """Refuse the reference `label` that brings the pixels one request decodes to `decoded`, if over the cap."""
    if decoded > MAX_REQUEST_DECODE_PIXELS:
        raise ReferenceImageError(
            f"{label} brings the images to decode in this request to {amount(decoded / 1e6)} "
            f"megapixels; at most {amount(MAX_REQUEST_DECODE_PIXELS / 1e6)} are decoded per request. "
            "Use fewer or smaller images.",
            source=label,
        )


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
