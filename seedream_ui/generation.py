"""What the demo does, as plain functions the UI wires to widgets (no Gradio in here).

Each function takes widget values and returns values (or raises a SeedreamError whose message
the UI shows as it is). Keeping them free of Gradio lets the tests drive them directly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from seedream_ui.client import GeneratedImage, GenerationResult
from seedream_ui.errors import ValidationError
from seedream_ui.outputs import request_record, save_generation, zip_generation
from seedream_ui.references import PreparedReference, parse_url_lines, prepare_references_async
from seedream_ui.request import (
    MAX_REFERENCES,
    MAX_TOTAL_IMAGES,
    MAX_URL_CHARS,
    MAX_URL_LINES,
    RECOMMENDED_MAX_CJK,
    RECOMMENDED_MAX_WORDS,
    GenerateRequest,
    OptimizeMode,
    SequentialMode,
    prompt_stats,
    type_name,
    whole_number,
)
from seedream_ui.shares.recipe import Recipe, recipe_from_request
from seedream_ui.sizes import describe_size, parse_size

_UPLOAD_PLACEHOLDER = "https://upload.placeholder/"
HISTORY_LIMIT = 20  # generations kept per browser session


class GenerateClient(Protocol):
    """The part of SeedreamClient this module uses."""

    async def generate(
        self, request: GenerateRequest, *, api_key: str | None = None, headers: Mapping[str, str] | None = None
    ) -> GenerationResult: ...


class Reservation(Protocol):
    """What a quota reservation must offer (seedream_ui/quotas: `QuotaGate.reserve`)."""

    async def settle(self, images_returned: int) -> object: ...


# Given the most images a valid request may make, a context manager around the paid call (see `generate`).
Reserve = Callable[[int], AbstractAsyncContextManager[Reservation]]


# ---- live hints -------------------------------------------------------------------------------


def prompt_hint(prompt: str) -> str:
    words, cjk = prompt_stats(prompt or "")
    over = words > RECOMMENDED_MAX_WORDS or cjk > RECOMMENDED_MAX_CJK
    mark = "⚠ longer than Seedream recommends; the end may be ignored" if over else "within the recommended length"
    return f"{words} / {RECOMMENDED_MAX_WORDS} words · {cjk} / {RECOMMENDED_MAX_CJK} Chinese characters · {mark}"


def size_from_inputs(preset: str, width: float | None, height: float | None) -> str:
    """The size string for a preset, or for "custom" the typed width x height (validated later)."""
    if preset != "custom":
        return preset
    if not width or not height:
        return ""
    return f"{int(width)}x{int(height)}"


def size_hint(size: str) -> str:
    return describe_size(size) if size and size.strip() else "⚠ Enter a size: 2K, 4K or width x height."


def custom_dimensions(size: str) -> tuple[int, int] | None:
    """Width and height to show in the custom boxes for a typed size, if it parses."""
    try:
        info = parse_size(size)
    except ValidationError:
        return None
    return info.width, info.height


def references_label(count: int) -> str:
    return f"Reference images ({count} / {MAX_REFERENCES})"


def max_images_limit(reference_count: int) -> int:
    """Seedream 4.x: references plus generated images at most 15."""
    return max(1, MAX_TOTAL_IMAGES - min(reference_count, MAX_REFERENCES))


def max_images_choice(reference_count: int, current: float | None) -> tuple[int, int]:
    """(the slider's maximum, the value to keep): lowered with the limit, so it is never left invalid."""
    limit = max_images_limit(reference_count)
    return limit, min(max(int(current or 1), 1), limit)


def count_urls(url_text: str) -> int:
    return sum(1 for line in (url_text or "").splitlines() if line.strip())


def merge_uploads(kept: Sequence[str], incoming: Sequence[str], url_count: int) -> tuple[list[str], str | None]:
    """Accept new uploads only if the total stays within 14; otherwise keep what the user had."""
    room = MAX_REFERENCES - url_count
    if len(incoming) > room:
        added = len(incoming) - len(kept)
        return list(kept), (
            f"Seedream takes at most {MAX_REFERENCES} reference images in all (uploads plus URLs); "
            f"{len(incoming) + url_count} would be too many, so the {max(added, 1)} just added were not kept."
        )
    return list(incoming), None


# ---- generating -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationForm:
    """The widget values that make up one generation, named after the API's fields.

    The types are what a valid form holds; the page's API passes whatever a caller sent, and `check_form`
    refuses anything else with a message.
    """

    prompt: str
    size: str = "2048x2048"
    reference_files: Sequence[str] = ()
    reference_urls: str = ""
    watermark: bool = True
    optimize_prompt_mode: OptimizeMode | None = "standard"
    sequential_image_generation: SequentialMode = "disabled"
    max_images: int | None = None


@dataclass(frozen=True)
class Generation:
    """One finished generation, as the page shows it and the session history keeps it."""

    created: datetime
    prompt: str
    size: str
    files: tuple[Path, ...]
    status: str
    warnings: tuple[str, ...] = field(default=())
    # request.json of the zip: the parameters used, references named rather than inlined.
    record: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # For Share and "Copy recipe": the validated request as a recipe (uploads named), and the uploads' paths in
    # the order sent (their bytes are read only when shared). Never the key.
    recipe: Recipe | None = field(default=None, repr=False)
    uploads: tuple[str, ...] = field(default=(), repr=False)

    @property
    def caption(self) -> str:
        short = self.prompt if len(self.prompt) <= 48 else self.prompt[:47] + "…"
        return f"{self.created:%H:%M:%S} · {len(self.files)} image(s) · {short}"


def check_form(form: GenerationForm) -> tuple[GenerateRequest, list[str], list[str]]:
    """Every rule that needs no file content: (the request without its images, the upload paths, the URLs).

    Values come from the page or from API callers as they were sent; a wrong type is refused with a message,
    never coerced (the string "false" is truthy, and 2.5 images is not 2).
    """
    urls = parse_url_lines(_url_text(form.reference_urls))
    files = _upload_paths(form.reference_files)
    if len(files) + len(urls) > MAX_REFERENCES:
        raise ValidationError(
            f"{len(files) + len(urls)} reference images given ({len(files)} uploaded, {len(urls)} URLs); "
            f"Seedream takes at most {MAX_REFERENCES}. Remove {len(files) + len(urls) - MAX_REFERENCES}.",
            field="image",
        )
    sequential = form.sequential_image_generation
    # The max-images control keeps a value while hidden; it only means something with "auto", but a value
    # that is not a whole number is refused either way.
    max_images = None if form.max_images is None else whole_number(form.max_images, "max_images", minimum=1)
    request = GenerateRequest(
        prompt=form.prompt,
        size=form.size,
        images=(),
        watermark=form.watermark,
        optimize_prompt_mode=form.optimize_prompt_mode or None,
        sequential_image_generation=sequential,
        max_images=max_images if sequential == "auto" else None,
    )
    # The stand-in URLs only count the uploads (max_images depends on how many references there are).
    replace(request, images=(*urls, *[_UPLOAD_PLACEHOLDER] * len(files))).validated()
    return request, files, urls


async def build_request(form: GenerationForm) -> tuple[GenerateRequest, list[str]]:
    """Turn widget values into a validated request with its references prepared. Nothing is sent here.

    The cheap checks run first, so a typo in the size is reported at once; reading, decoding and encoding
    the references, and checking their Base64, run on worker threads: on the event loop they would freeze
    every visitor's page meanwhile.
    """
    request, files, urls = check_form(form)
    if not files and not urls:  # most generations: nothing to read, so no hop to a worker thread and back
        return request.validated(), []
    prepared = await prepare_references_async([*files, *urls])
    return await asyncio.to_thread(_with_references, request, prepared)


def _with_references(request: GenerateRequest, prepared: Sequence[PreparedReference]) -> tuple[GenerateRequest, list[str]]:
    return replace(request, images=tuple(p.value for p in prepared)).validated(), [p.name for p in prepared]


def _url_text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(
            f"Reference image URLs must be text, one URL per line, not {type_name(value)}.", field="image"
        )
    lines = value.splitlines()
    if len(lines) > MAX_URL_LINES:
        raise ValidationError(
            f"The URL box has {len(lines):,} lines; at most {MAX_URL_LINES} are read "
            f"(and at most {MAX_REFERENCES} reference images are used).",
            field="image",
        )
    for number, line in enumerate(lines, start=1):
        if len(line.strip()) > MAX_URL_CHARS:
            raise ValidationError(
                f"The URL on line {number} is {len(line.strip()):,} characters long; the limit is {MAX_URL_CHARS:,}.",
                field="image",
            )
    return value


def _upload_paths(files: object) -> list[str]:
    if not isinstance(files, (list, tuple)) or not all(isinstance(f, str) for f in files):
        raise ValidationError("Reference uploads must be a list of uploaded image files.", field="image")
    return [f for f in files if f]


async def generate(
    client: GenerateClient,
    form: GenerationForm,
    *,
    api_key: str | None,
    output_root: Path,
    headers: Mapping[str, str] | None = None,
    reserve: Reserve | None = None,
) -> Generation:
    """Validate, send, and keep the results on disk for the gallery and the downloads.

    `api_key` is the key already chosen for this call (see Backend.route); the client refuses a missing one.
    `reserve` (visitor quotas, issue 10) wraps only the paid call: it is entered after validation, so an invalid
    request reserves nothing and a refusal sends nothing, and settled with the images returned as soon as the
    API answers (saving them is not the API's cost).
    """
    request, reference_names = await build_request(form)
    started = time.perf_counter()
    async with (reserve or no_reservation)(request.expected_images()) as reservation:
        result = await client.generate(request, api_key=api_key, headers=headers)
        await reservation.settle(len(result.images))
    created = datetime.now()
    # Writing the images is megabytes of disk I/O: a worker thread, not the event loop. The zip is built only
    # when asked for (download_all): most generations are never zipped.
    saved = await asyncio.to_thread(save_generation, output_root, result.images, stamp=created)
    # The request's own warnings (a long prompt) come with the result; only the failures are added here.
    warnings = result.warnings + _failure_warnings(result)
    return Generation(
        created=created,
        prompt=request.prompt,
        size=request.size,
        files=saved.files,
        status=status_line(result.images, time.perf_counter() - started, warnings),
        warnings=warnings,
        record=request_record(request, reference_names),
        recipe=recipe_from_request(request, reference_names, created.astimezone()),
        uploads=tuple(_upload_paths(form.reference_files)),
    )


class _Free:
    async def settle(self, images_returned: int) -> None:
        return None


@asynccontextmanager
async def no_reservation(images: int) -> AsyncIterator[Reservation]:
    yield _Free()


async def download_all(generation: object) -> Path:
    """The zip of a generation's images and request.json, built on a worker thread the first time."""
    if not isinstance(generation, Generation) or not generation.files:
        raise ValidationError("Generate an image first; then 'Download all' zips the results shown.", field="image")
    return await asyncio.to_thread(zip_generation, generation.files, generation.record)


def _failure_warnings(result: GenerationResult) -> tuple[str, ...]:
    if not result.failures:
        return ()
    total = len(result.failures) + len(result.images)
    return (
        f"{len(result.failures)} of {total} images could not be downloaded from Seedream: "
        + "; ".join(result.failures[:3]),
    )


def status_line(images: Sequence[GeneratedImage], elapsed: float, warnings: Sequence[str]) -> str:
    sizes = sorted({f"{image.width}x{image.height}" for image in images})
    line = f"✓ {len(images)} image{'s' if len(images) != 1 else ''} · {', '.join(sizes)} · {elapsed:.1f} s"
    return line + "".join(f"\n\n⚠ {w}" for w in warnings)


def add_to_history(history: Sequence[Generation], generation: Generation) -> list[Generation]:
    return [generation, *history][:HISTORY_LIMIT]


def use_as_reference(
    kept: Sequence[str], result_files: Sequence[str], selected: object, url_count: int
) -> tuple[list[str], str]:
    """Add the selected result to the reference uploads, for iterating on an image.

    `selected` is what the browser's select event carried: anything but a valid index asks for a click.
    """
    if not isinstance(selected, int) or isinstance(selected, bool) or not 0 <= selected < len(result_files):
        raise ValidationError("Click a result in the gallery first, then 'Use as reference'.", field="image")
    merged, problem = merge_uploads(kept, [*kept, result_files[selected]], url_count)
    if problem:
        raise ValidationError(problem, field="image")
    return merged, f"Added result {selected + 1} as reference {len(merged)} of {MAX_REFERENCES}."
