"""What the demo does, as plain functions the UI wires to widgets (no Gradio in here).

Each function takes widget values and returns values (or raises a SeedreamError whose message
the UI shows as it is). Keeping them free of Gradio lets the tests drive them directly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from seedream_ui.errors import AuthenticationError, ValidationError
from seedream_ui.outputs import SavedGeneration, purge_older_than, save_generation
from seedream_ui.references import parse_url_lines, prepare_references
from seedream_ui.request import (
    MAX_REFERENCES,
    MAX_TOTAL_IMAGES,
    RECOMMENDED_MAX_CJK,
    RECOMMENDED_MAX_WORDS,
    GenerateRequest,
    prompt_stats,
)
from seedream_ui.sizes import describe_size, parse_size

_UPLOAD_PLACEHOLDER = "https://upload.placeholder/"
HISTORY_LIMIT = 20  # generations kept per browser session
OUTPUT_MAX_AGE_S = 6 * 3600  # result files older than this are deleted
# Purging lists every result folder (58 ms at 10,000 of them, on the event loop): once a minute is plenty.
PURGE_INTERVAL_S = 60.0
_last_purge: dict[Path, float] = {}


class GenerateClient(Protocol):
    """The part of SeedreamClient this module uses."""

    async def generate(
        self, request: GenerateRequest, *, api_key: str | None = None, headers: Mapping[str, str] | None = None
    ) -> object: ...


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
    """The widget values that make up one generation, named after the API's fields."""

    prompt: str
    size: str = "2048x2048"
    reference_files: Sequence[str] = ()
    reference_urls: str = ""
    watermark: bool = True
    optimize_prompt_mode: str | None = "standard"
    sequential_image_generation: str = "disabled"
    max_images: int | None = None


@dataclass(frozen=True)
class Generation:
    """One finished generation, as the page shows it and the session history keeps it."""

    created: datetime
    prompt: str
    size: str
    files: tuple[Path, ...]
    zip_path: Path
    status: str
    warnings: tuple[str, ...] = field(default=())

    @property
    def caption(self) -> str:
        short = self.prompt if len(self.prompt) <= 48 else self.prompt[:47] + "…"
        return f"{self.created:%H:%M:%S} · {len(self.files)} image(s) · {short}"


def build_request(form: GenerationForm) -> tuple[GenerateRequest, list[str]]:
    """Turn widget values into a validated request; references prepared. Nothing is sent here."""
    urls = parse_url_lines(form.reference_urls or "")
    files = [f for f in form.reference_files if f]
    if len(files) + len(urls) > MAX_REFERENCES:
        raise ValidationError(
            f"{len(files) + len(urls)} reference images given ({len(files)} uploaded, {len(urls)} URLs); "
            f"Seedream takes at most {MAX_REFERENCES}. Remove {len(files) + len(urls) - MAX_REFERENCES}.",
            field="image",
        )
    sequential = form.sequential_image_generation
    request = GenerateRequest(
        prompt=form.prompt,
        size=form.size,
        images=(),
        watermark=form.watermark,
        optimize_prompt_mode=form.optimize_prompt_mode or None,  # type: ignore[arg-type]
        sequential_image_generation=sequential,  # type: ignore[arg-type]
        # The max-images control keeps a value while hidden; it only means something with "auto".
        max_images=int(form.max_images) if sequential == "auto" and form.max_images else None,
    )
    # Check every rule that does not need the files' content before reading them, so a typo in the
    # size is reported at once; the stand-in URLs only count the uploads (max_images depends on it).
    replace(request, images=(*urls, *[_UPLOAD_PLACEHOLDER] * len(files))).validated()
    prepared = prepare_references([*files, *urls])
    return replace(request, images=tuple(p.value for p in prepared)).validated(), [p.name for p in prepared]


async def generate(
    client: GenerateClient,
    form: GenerationForm,
    *,
    api_key: str | None,
    output_root: Path,
    headers: Mapping[str, str] | None = None,
) -> Generation:
    """Validate, send, and keep the results on disk for the gallery and the downloads."""
    request, reference_names = build_request(form)
    if api_key is not None and not api_key.strip():
        raise AuthenticationError("No API key: enter yours in the API key box or set SEEDREAM_API_KEY.")
    started = time.perf_counter()
    result = await client.generate(request, api_key=api_key, headers=headers)
    if _purge_due(output_root):
        purge_older_than(output_root, OUTPUT_MAX_AGE_S)
    created = datetime.now()
    saved: SavedGeneration = save_generation(
        output_root, result.images, request, reference_names=reference_names, stamp=created
    )
    warnings = tuple(request.warnings()) + tuple(getattr(result, "warnings", ()))
    failures = tuple(getattr(result, "failures", ()))
    if failures:
        warnings += (
            f"{len(failures)} of {len(failures) + len(result.images)} images could not be downloaded from Seedream: "
            + "; ".join(failures[:3]),
        )
    return Generation(
        created=created,
        prompt=request.prompt,
        size=request.size,
        files=saved.files,
        zip_path=saved.zip_path,
        status=status_line(result.images, time.perf_counter() - started, warnings),
        warnings=warnings,
    )


def _purge_due(output_root: Path, now: float | None = None) -> bool:
    now = time.monotonic() if now is None else now
    last = _last_purge.get(output_root)
    if last is not None and now - last < PURGE_INTERVAL_S:
        return False
    _last_purge[output_root] = now
    return True


def status_line(images: Sequence[object], elapsed: float, warnings: Sequence[str]) -> str:
    sizes = sorted({f"{getattr(i, 'width', '?')}x{getattr(i, 'height', '?')}" for i in images})
    line = f"✓ {len(images)} image{'s' if len(images) != 1 else ''} · {', '.join(sizes)} · {elapsed:.1f} s"
    return line + "".join(f"\n\n⚠ {w}" for w in warnings)


def add_to_history(history: Sequence[Generation], generation: Generation) -> list[Generation]:
    return [generation, *history][:HISTORY_LIMIT]


def use_as_reference(
    kept: Sequence[str], result_files: Sequence[str], selected: int | None, url_count: int
) -> tuple[list[str], str]:
    """Add the selected result to the reference uploads, for iterating on an image."""
    if selected is None or not 0 <= selected < len(result_files):
        raise ValidationError("Click a result in the gallery first, then 'Use as reference'.", field="image")
    merged, problem = merge_uploads(kept, [*kept, result_files[selected]], url_count)
    if problem:
        raise ValidationError(problem, field="image")
    return merged, f"Added result {selected + 1} as reference {len(merged)} of {MAX_REFERENCES}."
