"""Output sizes: parsing what people type, the API's limits, presets, and the nearest valid size."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from seedream_ui.errors import ValidationError

# Limits from the API reference page, both ends inclusive.
MIN_PIXELS = 3_686_400  # 1920 x 1920
MAX_PIXELS = 16_777_216  # 4096 x 4096
MIN_RATIO = Fraction(1, 16)
MAX_RATIO = Fraction(16, 1)
DEFAULT_SIZE = "2048x2048"

# What "2K" and "4K" produce when the model has no reference image to take an aspect ratio from.
KEYWORD_SIZES: dict[str, tuple[int, int]] = {"2K": (2048, 2048), "4K": (4096, 4096)}

# ASCII digits only: Python's \d also matches Arabic-Indic and other digits, which the API does not read.
_WXH = re.compile(r"^\s*([0-9]{1,6})\s*[x×*]\s*([0-9]{1,6})\s*$", re.IGNORECASE | re.ASCII)
# The longest size worth reading ("004096 x 004096" with spaces); longer text is refused without being echoed.
MAX_SIZE_CHARS = 40


@dataclass(frozen=True)
class SizeInfo:
    """What a size string means: its canonical form and, for WxH, its numbers."""

    text: str  # canonical: "2K", "4K" or "WxH"
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def ratio(self) -> Fraction:
        return Fraction(self.width, self.height)


@dataclass(frozen=True)
class Preset:
    label: str  # what a picker shows, e.g. "16:9 · 2K (2560x1440)"
    size: str  # what the API gets


# Seedream's recommended sizes per aspect ratio; every one lies inside the limits (tested).
_RATIO_SIZES: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "1:1": ((2048, 2048), (4096, 4096)),
    "4:3": ((2304, 1728), (4704, 3520)),
    "3:4": ((1728, 2304), (3520, 4704)),
    "3:2": ((2496, 1664), (4992, 3328)),
    "2:3": ((1664, 2496), (3328, 4992)),
    "16:9": ((2560, 1440), (5504, 3040)),
    "9:16": ((1440, 2560), (3040, 5504)),
    "21:9": ((3024, 1296), (6240, 2656)),
}


def presets() -> list[Preset]:
    """The sizes a UI offers: the two keywords, then each aspect ratio at 2K and at 4K."""
    out = [Preset("2K (model picks the shape)", "2K"), Preset("4K (model picks the shape)", "4K")]
    for ratio, ((w2, h2), (w4, h4)) in _RATIO_SIZES.items():
        out.append(Preset(f"{ratio} · 2K ({w2}x{h2})", f"{w2}x{h2}"))
        out.append(Preset(f"{ratio} · 4K ({w4}x{h4})", f"{w4}x{h4}"))
    return out


def parse_size(text: str) -> SizeInfo:
    """Parse "2K", "4k", "2048x2048", " 2048 X 2048 ", "2048×2048" into canonical form.

    Only the syntax is checked here; `validate_size` also checks the limits.
    """
    if not isinstance(text, str):
        raise ValidationError(f"Size must be text such as 2048x2048, not {_json_type(text)}.", field="size")
    if len(text) > MAX_SIZE_CHARS:
        raise ValidationError(
            f"Size is {len(text):,} characters long; use 2K, 4K or width x height such as 2048x2048.", field="size"
        )
    cleaned = text.strip().upper()
    if cleaned in KEYWORD_SIZES:
        width, height = KEYWORD_SIZES[cleaned]
        return SizeInfo(cleaned, width, height)
    match = _WXH.match(text)
    if not match:
        raise ValidationError(
            f"Size {text.strip()!r} is not understood; use 2K, 4K or width x height such as 2048x2048.",
            field="size",
        )
    width, height = int(match.group(1)), int(match.group(2))
    if width == 0 or height == 0:
        raise ValidationError(f"Size {width}x{height} has a zero side; both sides must be positive.", field="size")
    return SizeInfo(f"{width}x{height}", width, height)


def size_problem(info: SizeInfo) -> str | None:
    """A message saying why `info` is outside the API's limits, or None when it is valid."""
    if info.text in KEYWORD_SIZES:
        return None
    name = info.text
    if info.pixels < MIN_PIXELS:
        return (
            f"Size {name} has {info.pixels:,} pixels; Seedream 4.5 needs at least {MIN_PIXELS:,} "
            f"(for example {suggest_size(info.width, info.height)})."
        )
    if info.pixels > MAX_PIXELS:
        return (
            f"Size {name} has {info.pixels:,} pixels; Seedream 4.5 allows at most {MAX_PIXELS:,} "
            f"(for example {suggest_size(info.width, info.height)})."
        )
    if not MIN_RATIO <= info.ratio <= MAX_RATIO:
        return (
            f"Size {name} has an aspect ratio of {_ratio_text(info.ratio)}; Seedream 4.5 allows 1:16 to 16:1 "
            f"(for example {suggest_size(info.width, info.height)})."
        )
    return None


def validate_size(text: str) -> str:
    """The canonical size string, or ValidationError with a message a person can act on."""
    info = parse_size(text)
    problem = size_problem(info)
    if problem:
        raise ValidationError(problem, field="size")
    return info.text


def is_valid(width: int, height: int) -> bool:
    return (
        width > 0
        and height > 0
        and MIN_PIXELS <= width * height <= MAX_PIXELS
        and MIN_RATIO <= Fraction(width, height) <= MAX_RATIO
    )


def suggest_size(width: int, height: int) -> str:
    """The nearest valid WxH with (as nearly as integers allow) the same aspect ratio.

    Sides are multiples of 8 where that fits, which image models handle best. A ratio outside
    1:16..16:1 is clamped to the nearest end.
    """
    if width <= 0 or height <= 0:
        return DEFAULT_SIZE
    if is_valid(width, height):
        return f"{width}x{height}"
    ratio = min(max(Fraction(width, height), MIN_RATIO), MAX_RATIO)
    pixels = min(max(width * height, MIN_PIXELS), MAX_PIXELS)
    w_exact = math.sqrt(pixels * ratio)
    h_exact = math.sqrt(pixels / ratio)
    growing = width * height < MIN_PIXELS
    for step in (8, 1):
        round_ = math.ceil if growing else math.floor
        w = max(step, int(round_(w_exact / step)) * step)
        h = max(step, int(round_(h_exact / step)) * step)
        # Rounding can push the ratio a hair past 16:1 or the pixels past a limit; nudge back.
        for _ in range(64):
            if is_valid(w, h):
                return f"{w}x{h}"
            if Fraction(w, h) > MAX_RATIO:
                h += step if w * (h + step) <= MAX_PIXELS else 0
                w -= 0 if w * h <= MAX_PIXELS else step
            elif Fraction(w, h) < MIN_RATIO:
                w += step if (w + step) * h <= MAX_PIXELS else 0
                h -= 0 if w * h <= MAX_PIXELS else step
            elif w * h < MIN_PIXELS:
                w, h = (w + step, h) if w <= h else (w, h + step)
            else:
                w, h = (w - step, h) if w >= h else (w, h - step)
    return DEFAULT_SIZE  # unreachable for positive input; kept as a safe answer


def describe_size(text: str) -> str:
    """One line for the UI: pixels and ratio, and plainly whether the API will take it."""
    try:
        info = parse_size(text)
    except ValidationError as exc:
        return f"⚠ {exc.message}"
    if info.text in KEYWORD_SIZES:
        return f"{info.text}: the model picks the exact shape (about {info.width}x{info.height})."
    problem = size_problem(info)
    line = f"{info.width}x{info.height} · {info.pixels / 1e6:.2f} MP · ratio {_ratio_text(info.ratio)}"
    return f"⚠ {problem}" if problem else f"✓ {line} · within the API's limits"


def _json_type(value: object) -> str:
    return {list: "a list", dict: "an object", type(None): "null", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)  # fmt: skip


def _ratio_text(ratio: Fraction) -> str:
    simple = ratio.limit_denominator(64)
    if simple == ratio and simple.numerator <= 64:
        return f"{simple.numerator}:{simple.denominator}"
    return f"{float(ratio):.3f}:1"
