"""Drawing the stand-in's placeholder pictures: a gradient, the prompt, size, index, reference thumbnails."""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from seedream_ui.stub.images import PictureSet, Reference

__all__ = ["DRAWN_PROMPT_CHARS", "Layout", "draw_picture", "reference_tile"]

# More than 12 lines of the widest picture (7680 px) hold at the smallest font; the rest is never seen.
DRAWN_PROMPT_CHARS = 8_000
_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Layout:
    """Sizes scaled to the short side, so text stays legible from 7680x480 to 4096x4096 and in thumbnails."""

    width: int
    height: int
    pad: int
    title: int
    body: int
    small: int
    tile: int
    gap: int
    columns: int
    rows: int
    prompt_lines: int

    @classmethod
    def for_size(cls, width: int, height: int, references: int) -> Layout:
        short = min(width, height)
        pad, gap = max(4, round(short * 0.06)), max(2, round(short * 0.02))
        title, body, small = max(10, round(short * 0.13)), max(8, round(short * 0.06)), max(6, round(short * 0.035))
        inner = width - 2 * pad
        tile, columns, rows = _tile_grid(short, inner, gap, references)
        strip = rows * tile + max(0, rows - 1) * gap + (gap if rows else 0)
        # Title, two meta lines, the thumbnail strip and the watermark row take fixed room; the prompt gets the rest.
        watermark_row = round(small * 1.5) + max(2, pad // 2)
        fixed = pad + round(title * 1.25) + gap + 2 * round(body * 1.25) + gap + strip + watermark_row
        lines = max(1, min(12, (height - fixed) // round(body * 1.25)))
        return cls(width, height, pad, title, body, small, tile, gap, columns, rows, lines)


def _tile_grid(short: int, inner: int, gap: int, count: int) -> tuple[int, int, int]:
    """(tile side, columns, rows): one row of shrunken tiles, or wrapped rows when one row gets too small."""
    if count == 0:
        return 0, 0, 0
    tile = round(short * 0.16)
    one_row = (inner - (count - 1) * gap) // count
    if one_row >= min(tile, round(short * 0.08)):
        return max(1, min(tile, one_row)), count, 1
    tile = max(1, round(short * 0.08))
    columns = max(1, (inner + gap) // (tile + gap))
    return tile, columns, math.ceil(count / columns)


def draw_picture(pictures: PictureSet, index: int, layout: Layout, tiles: Sequence[Image.Image]) -> Image.Image:
    image = _background(pictures.prompt, index, layout.width, layout.height)
    draw = ImageDraw.Draw(image)
    x, y = layout.pad, layout.pad
    y = _text(draw, (x, y), "STAND-IN", _font(layout.title, bold=True))
    y += layout.gap
    body = _font(layout.body)
    # At most 12 lines fit: wrapping a 1 MB prompt whole took 8 s of CPU to draw the same picture.
    prompt = pictures.prompt[:DRAWN_PROMPT_CHARS]
    for line in _wrap(prompt, body, layout.width - 2 * layout.pad, layout.prompt_lines):
        y = _text(draw, (x, y), line, body)
    y += layout.gap
    y = _text(draw, (x, y), f"{layout.width}x{layout.height}", _font(layout.body, bold=True))
    y = _text(draw, (x, y), f"image {index} of {pictures.count}", _font(layout.body, bold=True))
    y += layout.gap
    for number, tile in enumerate(tiles):
        row, column = divmod(number, layout.columns)
        image.paste(tile, (x + column * (layout.tile + layout.gap), y + row * (layout.tile + layout.gap)))
    if pictures.watermark:
        mark = _font(layout.small, bold=True)
        _, _, right, bottom = draw.textbbox((0, 0), "AI generated", font=mark)
        margin = max(2, layout.pad // 2)
        origin = (layout.width - margin - int(right), layout.height - margin - int(bottom))
        _text(draw, origin, "AI generated", mark, fill=(255, 255, 255))
    return image


def _background(prompt: str, index: int, width: int, height: int) -> Image.Image:
    """A vertical two-colour gradient, drawn small and scaled up: a few ms even at 4096x4096."""
    seed = hashlib.sha256(f"{index}:{prompt}".encode()).digest()
    hue = seed[0] / 255
    top = _rgb(hue, 0.55, 0.60)
    bottom = _rgb(hue + 0.12, 0.70, 0.22)
    mask = Image.linear_gradient("L")
    small = Image.composite(Image.new("RGB", mask.size, bottom), Image.new("RGB", mask.size, top), mask)
    return small.resize((width, height), Image.Resampling.BILINEAR)


def _rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


def _text(
    draw: ImageDraw.ImageDraw,
    origin: tuple[int, int],
    text: str,
    font: Font,
    fill: tuple[int, int, int] = (255, 255, 255),
) -> int:
    """Draw white text with a dark outline (readable on any gradient); return the y below it."""
    size = int(getattr(font, "size", 10))
    draw.text(origin, text, font=font, fill=fill, stroke_width=max(1, size // 14), stroke_fill=(0, 0, 0))
    return origin[1] + round(size * 1.25)


def _wrap(text: str, font: Font, max_width: int, max_lines: int) -> list[str]:
    """Greedy word wrap (long words and CJK break anywhere); the last kept line ends in an ellipsis."""
    words = " ".join(text.split()).split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while font.getlength(current) > max_width and len(current) > 1:
            cut = _fitting_prefix(current, font, max_width)
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and font.getlength(last + "…") > max_width:
        last = last[:-1]
    kept[-1] = last.rstrip() + "…"
    return kept


def _fitting_prefix(text: str, font: Font, max_width: int) -> int:
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(text[:middle]) <= max_width:
            low = middle
        else:
            high = middle - 1
    return low


def reference_tile(ref: Reference, number: int, side: int) -> Image.Image:
    """A square thumbnail of a Base64 reference, or a labelled tile for a URL or unreadable bytes."""
    tile = Image.new("RGB", (side, side), (38, 38, 44))
    draw = ImageDraw.Draw(tile)
    thumb = _thumbnail(ref.data, side) if ref.kind == "base64" else None
    if thumb is not None:
        tile.paste(thumb, ((side - thumb.width) // 2, (side - thumb.height) // 2))
    else:
        draw.rectangle((0, 0, side - 1, side - 1), fill=(70, 72, 84))
        label = "URL" if ref.kind == "url" else (ref.format or "image")
        detail = ref.host if ref.kind == "url" else "unreadable"
        big, little = _font(max(6, side // 5), bold=True), _font(max(6, side // 10))
        _text(draw, (side // 12, side // 3), label, big)
        below = side // 3 + round(getattr(big, "size", 10) * 1.3)
        _text(draw, (side // 12, below), _fit(detail, little, side - side // 6), little)
    draw.rectangle((0, 0, side - 1, side - 1), outline=(230, 230, 230), width=max(1, side // 60))
    _text(draw, (side // 16, side // 24), f"#{number}", _font(max(6, side // 7), bold=True))
    return tile


def _thumbnail(data: bytes, side: int) -> Image.Image | None:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (side, side))  # JPEG decodes at 1/2..1/8 scale: big references stay cheap
            image = opened.convert("RGBA")
    except Exception:  # magic bytes can be right while the rest is garbage
        return None
    image.thumbnail((side, side))
    backdrop = Image.new("RGB", image.size, (38, 38, 44))
    backdrop.paste(image, mask=image.getchannel("A"))
    return backdrop


def _fit(text: str, font: Font, width: int) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


@lru_cache(maxsize=64)
def _font(size: int, bold: bool = False) -> Font:
    """DejaVu when installed, else Pillow's built-in scalable font, else its tiny bitmap one."""
    path = _FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        pass
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError):
        return ImageFont.load_default()
