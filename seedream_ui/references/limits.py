"""How large a reference may be, and what decoding it costs in memory, known from its header alone.

The API's own limits: each reference at most 10 MB and 36 megapixels (6000x6000), each side more than 14 pixels,
aspect ratio within [1/16, 16]. A larger image is shrunk here, which means decoding it, so the server needs its
own limits on what it agrees to decode (figures measured on a 2-core machine with Pillow 12):

- MAX_DECODE_PIXELS = 120 MP, for JPEG only: libjpeg decodes at 1/2, 1/4 or 1/8 scale, so a 108 MP phone photo
  becomes a 27 MP image (108 MB) without ever existing at full size. Progressive JPEGs also keep their DCT
  coefficients for the whole image (2 bytes per sample), which the cost estimate counts.
- MAX_FULL_DECODE_PIXELS = 64 MP, for every other format: PNG, WebP, GIF, BMP and TIFF decode only at full size,
  so their cost grows with what the header claims, while a file of one colour stays a few hundred KB (a 120 MP
  PNG of 350 KB decodes to 480 MB: Pillow stores RGB in 4 bytes). 64 MP (8000x8000) is well above the 36 MP the
  API takes, above any camera's PNG/TIFF export up to 61 MP and any screenshot; shrinking such an image to 36 MP
  peaks at 566 MiB (measured; estimated 580). 100 MP would need ~900 MB for one image, more than the budget.
- MAX_REQUEST_DECODE_PIXELS = 400 MP: the pixels one request may decode in total, refused before any decoding.
  14 rotated 24 MP photos (336 MP) fit; one click cannot queue 14 x 64 MP of decoding (~2 minutes of CPU here).
- DECODE_BUDGET_BYTES = 768 MiB (SEEDREAM_DECODE_MEMORY_MB): estimated decode memory in use at once, across all
  requests. It admits the most expensive image the caps allow (a 64 MP PNG, BMP, GIF or TIFF: 580 MiB estimated),
  one at a time, so three hostile visitors add at most ~0.6 GB to the app; ordinary photos (12 MP JPEG: 153 MiB
  estimated, ~100 MiB measured) run five at once, more than there are cores, so the budget never slows them.
  A WebP needs 16 bytes a pixel while decoding (libwebp's canvases), so one above ~40 MP is refused by the budget.

`decode_cost` estimates the peak memory of preparing one image from its header: the decoded pixels, the copy a
mode conversion makes, the resampler's intermediate image and the output. It errs high; tests check it against
measured peaks for every amplifier they know of.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_REFERENCE_BYTES = 10 * 1024 * 1024
MAX_REFERENCE_PIXELS = 6000 * 6000
MIN_SIDE = 15
MAX_ASPECT_RATIO = 16.0
MAX_DECODE_PIXELS = 120_000_000
MAX_FULL_DECODE_PIXELS = 64_000_000
MAX_REQUEST_DECODE_PIXELS = 400_000_000
DECODE_BUDGET_BYTES = 768 * 1024 * 1024
# Refuse to even read files larger than this into memory.
MAX_FILE_BYTES = 200 * 1024 * 1024

_MB = 1024 * 1024
# Modes the output can keep as they are: no conversion copy.
_PLAIN_MODES = frozenset({"RGB", "RGBA", "L", "LA"})
_GRAY_MODES = frozenset({"1", "L", "I", "F"})
# Modes that may come out with transparency (a palette may hold a transparent colour).
_ALPHA_MODES = frozenset({"RGBA", "LA", "La", "RGBa", "PA", "P"})
# Extra bytes per pixel some decoders hold besides the image: libwebp's animation decoder keeps two RGBA
# canvases and Pillow gets the frame as a bytes object (measured: 550 MB for a 36 MP WebP); libtiff's RGBA
# path (YCbCr, old-style JPEG) reads into a full buffer.
_DECODER_EXTRA = {"webp": 14, "tiff": 4}
# 16-bit and float images become 8 bits this many pixels at a time; each band briefly exists as a crop, a
# 32-bit copy, a scaled 32-bit copy and 8 bits: 11 bytes per pixel.
BAND_PIXELS = 1_000_000
_BAND_BYTES = 11 * BAND_PIXELS
# Allocator slack, small buffers, the encoded output of a small image.
_SLACK = 16 * _MB


@dataclass(frozen=True)
class DecodePlan:
    scale: int  # JPEG draft scale (1, 2, 4 or 8); 1 for other formats
    pixels: int  # pixels once decoded (after the draft scale)
    cost: int  # estimated peak bytes while decoding, converting and re-encoding


def pixel_limit(fmt: str | None) -> int:
    """The largest image (in pixels, as the header claims) this server decodes in format `fmt`."""
    return MAX_DECODE_PIXELS if fmt in (None, "jpeg") else MAX_FULL_DECODE_PIXELS


def bytes_per_pixel(mode: str) -> int:
    """Pillow's storage per pixel: 1 for 8-bit single-band modes, 2 for 16-bit, 4 for the rest (RGB is padded)."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def jpeg_scale(size: tuple[int, int], max_pixels: int) -> int:
    """The largest of libjpeg's reduced scales (1/2, 1/4, 1/8) whose result fits max_pixels, else 1/8."""
    width, height = size
    if width * height <= max_pixels:
        return 1
    return next((s for s in (2, 4, 8) if math.ceil(width / s) * math.ceil(height / s) <= max_pixels), 8)


def decode_cost(
    fmt: str, mode: str, size: tuple[int, int], max_pixels: int, *, coefficients: float = 0.0, file_bytes: int = 0
) -> DecodePlan:
    """Estimate the peak memory of preparing an image of `size` and `mode` in format `fmt`.

    `coefficients` is, for a progressive JPEG, the samples per pixel libjpeg buffers at full size (1.5 for
    4:2:0 colour); 0 for anything else. `file_bytes`, the encoded file, stays in memory throughout. The stages follow `convert.py`: decode (plus a mode conversion), shrink
    (source, the resampler's intermediate and the output), then the output with one more copy and its encoding.
    """
    width, height = size
    scale = jpeg_scale(size, max_pixels) if fmt == "jpeg" else 1
    decoded = math.ceil(width / scale) * math.ceil(height / scale)
    out_bpp = 1 if mode in _GRAY_MODES or mode.startswith("I;16") else 4
    output = min(decoded, max_pixels)
    decode = decoded * (bytes_per_pixel(mode) + _DECODER_EXTRA.get(fmt, 0)) + int(width * height * 2 * coefficients)
    if mode not in _PLAIN_MODES:
        decode += decoded * out_bpp  # the converted copy exists next to the decoded image
    if mode in ("I", "F") or mode.startswith("I;16"):
        decode += _BAND_BYTES
    shrink = 0
    if decoded > max_pixels:
        # Source, the horizontal pass's result and the output; images with alpha are first premultiplied
        # into a copy (the source is freed as soon as that copy exists).
        shrink = (decoded + math.isqrt(decoded * output) + output) * out_bpp
        if mode in _ALPHA_MODES:
            shrink = max(shrink, 2 * decoded * out_bpp)
    finish = 3 * output * out_bpp
    return DecodePlan(scale, decoded, max(decode, shrink, finish) + file_bytes + _SLACK)


def amount(number: float) -> str:
    """1 decimal at most, no trailing zeros: 36, 0.1, 900."""
    return f"{number:,.1f}".rstrip("0").rstrip(".")


def megabytes(count: int) -> str:
    return f"{amount(count / _MB)} MB"
