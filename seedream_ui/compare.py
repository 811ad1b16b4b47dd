"""Compare (issue 12): which images a visitor may put in the slider, and which pair it starts with.

Plain functions over the session's own gen.Generation objects (no Gradio in here). A choice is named by a key
("result|2", "reference|1", "history|<created>|1"), never by a path: the browser sends back only a key, and the
path is looked up again here among the session's generations, so a forged or stale key finds nothing and no
file other than this session's results and uploads can ever be handed to the slider.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from seedream_ui import generation as gen
from seedream_ui.shares.recipe import UploadReference

RESULT, REFERENCE, HISTORY = "result", "reference", "history"
NOTHING_YET = "Generate an image first; then compare a result with its reference or with another result."
ONE_IMAGE = "Only one image so far: add a reference or generate again, then compare the two here."


@dataclass(frozen=True)
class Roots:
    """Where the slider's files may come from: the demo's results folder and Gradio's upload folder. Either kind
    may be in either (a history restored after a reload links its uploads in beside its results)."""

    results: Path
    uploads: Path


@dataclass(frozen=True)
class Choice:
    key: str  # the dropdown's value
    label: str  # what the visitor reads
    path: Path  # resolved on the server, never sent by the browser


def result_key(index: int) -> str:
    """The key of the shown generation's result `index` (0-based, as the gallery's select event counts)."""
    return f"{RESULT}|{index + 1}"


def _generations(history: object) -> list[gen.Generation]:
    return [g for g in history if isinstance(g, gen.Generation)] if isinstance(history, (list, tuple)) else []


def _same(a: gen.Generation, b: gen.Generation) -> bool:
    # Not `a is b` nor `==`: a history kept elsewhere may hand back equal copies, and equality would compare
    # whole request records.
    return a.created == b.created and a.files == b.files


def _inside(path: object, roots: Roots) -> Path | None:
    """`path` as a real file inside one of `roots` (symlinks followed), or None."""
    try:
        real = Path(str(path)).resolve()
        inside = any(real.is_relative_to(root.resolve()) for root in (roots.results, roots.uploads))
        return real if inside and real.is_file() else None
    except (OSError, ValueError):
        return None


def reference_numbers(generation: gen.Generation) -> list[int]:
    """The "Image N" number of each upload, in the order sent: URLs take part in the numbering when the recipe
    says where they were (uploads and URLs interleaved); otherwise uploads are images 1..N."""
    references = generation.recipe.references if generation.recipe is not None else ()
    numbers = [n for n, r in enumerate(references, start=1) if isinstance(r, UploadReference)]
    return numbers if len(numbers) == len(generation.uploads) else list(range(1, len(generation.uploads) + 1))


def _shown_choices(shown: gen.Generation, roots: Roots) -> Iterable[Choice]:
    count = len(shown.files)
    for k, file in enumerate(shown.files, start=1):
        if path := _inside(file, roots):
            yield Choice(f"{RESULT}|{k}", f"Result {k} of {count}", path)
    for k, (number, upload) in enumerate(zip(reference_numbers(shown), shown.uploads, strict=True), start=1):
        if path := _inside(upload, roots):
            yield Choice(f"{REFERENCE}|{k}", f"Image {number} (reference)", path)


def _history_choices(generation: gen.Generation, roots: Roots) -> Iterable[Choice]:
    stamp = generation.created.isoformat()
    for k, file in enumerate(generation.files, start=1):
        if path := _inside(file, roots):
            yield Choice(f"{HISTORY}|{stamp}|{k}", f"{generation.created:%H:%M:%S} · result {k}", path)


def choices(shown: object, history: object, roots: Roots) -> list[Choice]:
    """Every image on offer: the shown generation's results and references, then earlier generations' results
    (newest first). Files that are gone (aged out) or lie outside `roots` are left out."""
    current = shown if isinstance(shown, gen.Generation) else None
    found: list[Choice] = list(_shown_choices(current, roots)) if current else []
    for generation in _generations(history):
        if current is None or not _same(generation, current):
            found.extend(_history_choices(generation, roots))
    unique: dict[str, Choice] = {}
    for choice in found:  # two generations made in the same microsecond: the first keeps the key
        unique.setdefault(choice.key, choice)
    return list(unique.values())


def resolve(key: object, listed: Sequence[Choice]) -> Path | None:
    """The file behind a key the browser sent, if it is one of `listed`; anything else finds nothing."""
    return next((c.path for c in listed if c.key == key), None) if isinstance(key, str) else None


def _previous(shown: gen.Generation, history: object) -> gen.Generation | None:
    """The newest generation made before the one shown."""
    earlier = [g for g in _generations(history) if g.created < shown.created and not _same(g, shown)]
    return max(earlier, key=lambda g: g.created, default=None)


def default_left(shown: object, history: object, right: str | None, listed: Sequence[Choice]) -> str | None:
    """Reference 1 if there was one; else the previous generation's result 1; else another result of this
    generation (a sequence); else the newest other generation's result 1 (an early one shown again)."""
    keys = [c.key for c in listed]
    if f"{REFERENCE}|1" in keys:
        return f"{REFERENCE}|1"
    previous = _previous(shown, history) if isinstance(shown, gen.Generation) else None
    if previous is not None and (key := f"{HISTORY}|{previous.created.isoformat()}|1") in keys:
        return key
    others = [k for k in keys if k.startswith(f"{RESULT}|") and k != right]
    return next(iter(others), None) or next((k for k in keys if k.startswith(f"{HISTORY}|")), None)


def default_pair(
    shown: object, history: object, selected: object, listed: Sequence[Choice]
) -> tuple[str | None, str | None]:
    """(left, right) to start with: right is the selected result (or result 1), left what it is compared with."""
    keys = [c.key for c in listed]
    picked = result_key(selected) if isinstance(selected, int) and not isinstance(selected, bool) else None
    right = picked if picked in keys else next((k for k in keys if k.startswith(f"{RESULT}|")), None)
    if right is None:
        return None, None
    return default_left(shown, history, right, listed), right


def pair_after_select(
    left: object, selected: object, shown: object, history: object, listed: Sequence[Choice]
) -> tuple[str | None, str | None] | None:
    """A result clicked in the gallery goes on the right; the left stays as the visitor chose it unless it is now
    the same image or no longer on offer. None: the click named no result on offer (stale or forged)."""
    if not isinstance(selected, int) or isinstance(selected, bool) or resolve(result_key(selected), listed) is None:
        return None
    right = result_key(selected)
    if isinstance(left, str) and left != right and resolve(left, listed) is not None:
        return left, right
    return default_left(shown, history, right, listed), right


def hint(listed: Sequence[Choice]) -> str:
    """What the hint above the slider says when there is not yet a pair to compare ("" when there is)."""
    return NOTHING_YET if not listed else ONE_IMAGE if len(listed) == 1 else ""
