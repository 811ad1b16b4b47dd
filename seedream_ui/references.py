"""Turn what a user gives as reference images (files, bytes, PIL images, URLs) into values the API accepts.

URLs pass through unchanged: this server never fetches a URL a user typed. Image bytes become
`data:image/<format>;base64,...`. A file the API surely accepts is sent byte for byte, without decoding it
(the fast path); one too large in bytes or pixels, rotated by EXIF, animated, or in an unusual pixel mode is
decoded, made upright, downscaled and re-encoded. Image dimensions are checked from the header, before any
decoding, so a small file that claims a huge image (a decompression bomb) is refused cheaply.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import math
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union
from urllib.parse import urlsplit

from PIL import (
    BmpImagePlugin,
    ExifTags,
    GifImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from seedream_ui.errors import ReferenceImageError, ValidationError
from seedream_ui.formats import ALLOWED_FORMATS, is_http_url, split_data_uri, sniff_format

# Seedream documentation: each reference image at most 10 MB and 36 megapixels (6000x6000),
# each side more than 14 pixels, aspect ratio within [1/16, 16].
MAX_REFERENCE_BYTES = 10 * 1024 * 1024
MAX_REFERENCE_PIXELS = 6000 * 6000
MIN_SIDE = 15
MAX_ASPECT_RATIO = 16.0
# Refuse to decode anything larger (a 120 MP RGBA image is already ~480 MB in memory); covers 108 MP phones.
MAX_DECODE_PIXELS = 120_000_000
# Refuse to even read files larger than this into memory.
MAX_FILE_BYTES = 200 * 1024 * 1024
JPEG_QUALITY = 90

Source = Union[str, os.PathLike[str], bytes, bytearray, Image.Image]

_MB = 1024 * 1024
# A multiple of 3, so that the Base64 of consecutive pieces joins up with no padding in between.
_B64_PIECE = 3 * 64 * 1024
# Modes every decoder handles; anything else (CMYK, 16-bit, float, ...) is converted first.
_PLAIN_MODES = frozenset({"RGB", "RGBA", "L", "LA", "P", "1"})
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "F"})
_RGB_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA"})
# TIFF compressions any TIFF reader supports: none, LZW, Deflate (two tags), PackBits.
_PLAIN_TIFF_COMPRESSIONS = frozenset({1, 5, 8, 32946, 32773})
# Open only the plugins of the formats the API accepts (chosen by content), never Image.open's guessing,
# and so that our own pixel limit, with a message naming the size, applies instead of Pillow's global one.
_OPENERS: dict[str, type[ImageFile.ImageFile]] = {
    "jpeg": JpegImagePlugin.JpegImageFile,
    "png": PngImagePlugin.PngImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
    "bmp": BmpImagePlugin.BmpImageFile,
    "tiff": TiffImagePlugin.TiffImageFile,
    "gif": GifImagePlugin.GifImageFile,
}
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# The expensive rest of preparing one reference (decode, convert, encode), run later, maybe on a thread.
_Convert = Callable[[], "PreparedReference"]


@dataclass(frozen=True)
class PreparedReference:
    """One reference image, ready for `GenerateRequest.images`."""

    value: str = field(repr=False)  # the URL unchanged, or a data URI (megabytes: kept out of reprs)
    name: str  # what to call it in messages: the file name, "image 3", or the URL
    format: str | None  # jpeg, png, ...; None for URLs
    width: int | None
    height: int | None
    reencoded: bool  # False when the original bytes (or URL) are sent as they are


def prepare_reference(
    source: Source,
    *,
    name: str | None = None,
    max_bytes: int = MAX_REFERENCE_BYTES,
    max_pixels: int = MAX_REFERENCE_PIXELS,
) -> PreparedReference:
    """Prepare one reference image, or raise ReferenceImageError naming it.

    A `str` is a URL if it starts with http:// or https://, a data URI if it starts with data:, else a path.
    An image over `max_pixels` is downscaled to fit, keeping its shape. A JPEG is decoded straight at 1/2,
    1/4 or 1/8 scale, the largest that fits: several times faster than decoding it whole and resizing, and it
    still keeps more than a quarter of `max_pixels`, far more detail than a reference image needs.
    """
    staged = _stage(source, name, max_bytes, max_pixels)
    return staged if isinstance(staged, PreparedReference) else staged()


def prepare_references(
    sources: Sequence[Source],
    *,
    names: Sequence[str | None] | None = None,
    max_bytes: int = MAX_REFERENCE_BYTES,
    max_pixels: int = MAX_REFERENCE_PIXELS,
    max_workers: int | None = None,
) -> list[PreparedReference]:
    """Prepare several references in order; the first failing one (in order) raises.

    Bytes and PIL images without a name are called "image N" (N counting from 1). The cheap checks and the
    fast path run here, one by one (Base64 holds the GIL, so threads would only add overhead); images that
    need decoding are converted on a few threads, since Pillow releases the GIL while decoding, resizing and
    encoding.
    """
    labels = list(names) if names is not None else [None] * len(sources)
    if len(labels) != len(sources):
        raise ValueError("names must have one entry per source")
    staged: list[PreparedReference | _Convert] = []
    failure: ReferenceImageError | None = None
    for index, (source, label) in enumerate(zip(sources, labels), start=1):
        if label is None and isinstance(source, (bytes, bytearray, Image.Image)):
            label = f"image {index}"
        try:
            staged.append(_stage(source, label, max_bytes, max_pixels))
        except ReferenceImageError as error:
            failure = error  # those before it may still fail first, in order; those after do not matter
            break
    pending = sum(not isinstance(item, PreparedReference) for item in staged)
    workers = min(pending, max_workers or os.cpu_count() or 1)
    if workers <= 1:
        results = [item if isinstance(item, PreparedReference) else item() for item in staged]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reference") as pool:
            futures = [item if isinstance(item, PreparedReference) else pool.submit(item) for item in staged]
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
    """`prepare_references` for servers: never on the event loop (reading, decoding and Base64 of 14 large
    images would freeze every visitor's page meanwhile)."""
    return await asyncio.to_thread(
        prepare_references, sources, names=names, max_bytes=max_bytes, max_pixels=max_pixels
    )


def parse_url_lines(text: str) -> list[str]:
    """URLs from a text box, one per line; blank lines and surrounding spaces are ignored."""
    urls: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        url = line.strip()
        if not url:
            continue
        problem = url_problem(url)
        if problem:
            raise ValidationError(f"Line {number} ({_shorten(url)!r}) {problem}", field="image")
        urls.append(url)
    return urls


def url_problem(url: str) -> str | None:
    """Why `url` is not a usable http(s) URL, or None if it is one."""
    if not is_http_url(url):
        return "is not an http:// or https:// URL."
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "contains spaces; percent-encode them (%20) or remove them."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "is not a well-formed URL."
    if not parts.hostname:
        return "has no host name."
    return None


# ---------------------------------------------------------------------------------------------------------
# Sources


def _stage(source: Source, name: str | None, max_bytes: int, max_pixels: int) -> PreparedReference | _Convert:
    """The finished reference when the cheap checks suffice (URL, fast path), else the work still to do.

    Everything here reads headers only; refusals that need no decoding happen here.
    """
    if isinstance(source, Image.Image):
        label = name or "image"
        _check_geometry(source.size, label)  # an image from Image.open may not be decoded yet
        return lambda: _convert_pil(source, label, max_bytes, max_pixels)
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), name or "image"
        return _stage_bytes(data, label, max_bytes, max_pixels) or (
            lambda: _convert_bytes(data, label, max_bytes, max_pixels)
        )
    if isinstance(source, str):
        text = source.strip()
        if not text:
            raise ReferenceImageError(
                f"{name or 'A reference image'} is empty: give a file, an image or a URL.", source=name
            )
        if text[:7].lower() == "http://" or text[:8].lower() == "https://":
            problem = url_problem(text)
            if problem:
                raise ReferenceImageError(f"{_shorten(text)} {problem}", source=name or text)
            return PreparedReference(text, name or text, None, None, None, reencoded=False)
        if text[:5].lower() == "data:":
            return _stage_data_uri(text, name or "image", max_bytes, max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or path.name or str(path)
        # The bytes are not kept for later: a batch of large files would otherwise all sit in memory at once.
        return _stage_bytes(_read_file(path, label), label, max_bytes, max_pixels) or (
            lambda: _convert_bytes(_read_file(path, label), label, max_bytes, max_pixels)
        )
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
            f"{label} is larger than {_amount(MAX_FILE_BYTES / _MB)} MB, too large to use as a reference image.",
            source=label,
        )
    return data


def _stage_data_uri(text: str, label: str, max_bytes: int, max_pixels: int) -> PreparedReference | _Convert:
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
    fmt, header = _inspect(data, label)
    if not _can_send_as_is(fmt, data, header, max_bytes, max_pixels):
        return lambda: _convert_bytes(data, label, max_bytes, max_pixels)
    # Keep the caller's text when it is already exactly right, else only fix the header.
    exact = clean == payload and (mime or "").lower() == f"image/{fmt}"
    value = text if exact else f"data:image/{fmt};base64,{clean}"
    return PreparedReference(value, label, fmt, header.width, header.height, reencoded=False)


def _stage_bytes(data: bytes, label: str, max_bytes: int, max_pixels: int) -> PreparedReference | None:
    """The fast path: the original bytes in Base64 if the API surely takes them, else None."""
    fmt, header = _inspect(data, label)
    if not _can_send_as_is(fmt, data, header, max_bytes, max_pixels):
        return None
    return PreparedReference(_data_uri(fmt, data), label, fmt, header.width, header.height, reencoded=False)


def _convert_bytes(data: bytes, label: str, max_bytes: int, max_pixels: int) -> PreparedReference:
    """Decode (first frame, upright, at reduced scale when possible), convert and re-encode."""
    fmt, _ = _inspect(data, label)  # checked again: the file may have been read again from disk
    with _pil_errors(label):
        return _encode(_decode(_open(fmt, data), fmt, max_pixels), label, max_bytes, max_pixels)


def _convert_pil(image: Image.Image, label: str, max_bytes: int, max_pixels: int) -> PreparedReference:
    with _pil_errors(label):
        upright = ImageOps.exif_transpose(image)  # a copy: the caller's image is left alone
        return _encode(upright, label, max_bytes, max_pixels)


# ---------------------------------------------------------------------------------------------------------
# Checks


def _open(fmt: str, data: bytes) -> ImageFile.ImageFile:
    return _OPENERS[fmt](io.BytesIO(data))


def _check_geometry(size: tuple[int, int], label: str) -> None:
    width, height = size
    pixels = width * height
    if pixels > MAX_DECODE_PIXELS:
        raise ReferenceImageError(
            f"{label} is {width}x{height} ({_amount(pixels / 1e6)} megapixels); the largest image accepted is "
            f"{_amount(MAX_DECODE_PIXELS / 1e6)} megapixels. Make it smaller and try again.",
            source=label,
        )
    if min(width, height) < MIN_SIDE:
        raise ReferenceImageError(
            f"{label} is {width}x{height} pixels; Seedream needs each side to be at least {MIN_SIDE} pixels.",
            source=label,
        )
    if max(width, height) / min(width, height) > MAX_ASPECT_RATIO:
        ratio = max(width, height) / min(width, height)
        raise ReferenceImageError(
            f"{label} is {width}x{height}, an aspect ratio of {_amount(ratio)}:1; Seedream accepts 1:16 to 16:1. "
            "Crop it first (shrinking it would not change its shape).",
            source=label,
        )


def _inspect(data: bytes, label: str) -> tuple[str, ImageFile.ImageFile]:
    """(format, the image with only its header read), or a ReferenceImageError naming the file."""
    if not data:
        raise ReferenceImageError(f"{label} is empty.", source=label)
    fmt = sniff_format(data[:16])
    if fmt is None:
        raise ReferenceImageError(
            f"{label} is not an image Seedream accepts ({', '.join(ALLOWED_FORMATS)}); "
            "convert it to JPEG or PNG first.",
            source=label,
        )
    with _pil_errors(label):
        header = _open(fmt, data)  # the plugins read the header only
    _check_geometry(header.size, label)
    return fmt, header


def _can_send_as_is(fmt: str, data: bytes, image: ImageFile.ImageFile, max_bytes: int, max_pixels: int) -> bool:
    """True if the API surely takes these bytes as they are: no decoding, cheapest checks first."""
    if len(data) > max_bytes or image.width * image.height > max_pixels:
        return False
    try:
        return (
            image.mode in _PLAIN_MODES
            and _looks_complete(fmt, data, image)
            and _orientation(fmt, data, image) == 1
            and not getattr(image, "is_animated", False)  # the first frame is sent instead
        )
    except Exception:  # odd metadata (EXIF, frames): the decoding path will tell what, if anything, is wrong
        return False


def _looks_complete(fmt: str, data: bytes, image: ImageFile.ImageFile) -> bool:
    """Cheap structural checks that catch truncated files; a file failing them is decoded, which tells for sure."""
    if fmt == "jpeg":
        return data.rstrip(b"\x00")[-2:] == b"\xff\xd9"  # ends with the End Of Image marker
    if fmt == "png":
        return data[-12:] == _PNG_IEND and data[24] <= 8  # 16-bit PNGs are converted to 8 bits
    if fmt == "gif":
        return data.endswith(b";")  # the GIF trailer
    if fmt == "webp":
        return int.from_bytes(data[4:8], "little") + 8 <= len(data)  # the RIFF size is all there
    if fmt == "bmp":
        return int.from_bytes(data[2:6], "little") == len(data)
    if fmt == "tiff":
        return _tiff_is_plain(data, image)
    return False


def _tiff_is_plain(data: bytes, image: ImageFile.ImageFile) -> bool:
    tags = getattr(image, "tag_v2", {})
    offsets = tags.get(273) or tags.get(324)  # strip or tile offsets
    counts = tags.get(279) or tags.get(325)  # their byte counts
    return (
        tags.get(259, 1) in _PLAIN_TIFF_COMPRESSIONS
        and tags.get(284, 1) == 1  # colour planes interleaved: simple readers handle no other layout
        and bool(offsets)
        and bool(counts)
        and len(offsets) == len(counts)
        and max(o + c for o, c in zip(offsets, counts)) <= len(data)
    )


def _orientation(fmt: str, data: bytes, image: ImageFile.ImageFile) -> int:
    """The EXIF orientation from the header; 0 when it cannot be known without decoding."""
    if fmt == "png" and "exif" not in image.info:
        # PngImageFile.getexif() decodes the image to look for an eXIf chunk after the pixel data.
        return 0 if b"eXIf" in data else 1
    return int(image.getexif().get(ExifTags.Base.Orientation, 1))


# ---------------------------------------------------------------------------------------------------------
# Decoding and encoding


def _decode(image: ImageFile.ImageFile, fmt: str, max_pixels: int) -> Image.Image:
    """Decode the first frame, upright, in a mode JPEG or PNG can hold."""
    width, height = image.size
    if fmt == "jpeg" and width * height > max_pixels:
        # libjpeg can decode at 1/2, 1/4 or 1/8 scale for much less work than a full decode plus resize.
        # Take the largest such scale that fits the limit: it keeps at least a quarter of max_pixels.
        scale = next(
            (s for s in (2, 4, 8) if math.ceil(width / s) * math.ceil(height / s) <= max_pixels), 8
        )
        image.draft(image.mode, (width // scale, height // scale))
    image.load()
    ImageOps.exif_transpose(image, in_place=True)
    return image


def _to_plain_mode(image: Image.Image) -> Image.Image:
    """RGB or L when opaque, RGBA or LA when the image really has transparency."""
    mode = image.mode
    if mode == "P" or mode == "PA":
        image = image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    elif mode == "1":
        image = image.convert("L")
    elif mode in ("RGBa", "La"):
        image = image.convert(mode.upper())
    elif mode.startswith("I;16"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")  # convert() would clip at 255
    elif mode in ("I", "F"):
        image = _scale_to_8_bits(image)
    elif mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX
    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] == 255:
        image = image.convert(image.mode[0] if image.mode == "LA" else "RGB")  # opaque alpha: JPEG is smaller
    return image


def _scale_to_8_bits(image: Image.Image) -> Image.Image:
    low, high = image.getextrema()
    if low >= 0 and high <= 255:
        return image.convert("L")
    if low >= 0 and high <= 65535:
        return image.point(lambda v: v * (1 / 256)).convert("L")
    span = (high - low) or 1  # anything else: stretch the range that is there
    return image.point(lambda v: (v - low) * (255 / span)).convert("L")


def _fit_pixels(image: Image.Image, max_pixels: int, label: str) -> Image.Image:
    width, height = image.size
    if width * height <= max_pixels:
        return image
    return _resize(image, math.sqrt(max_pixels / (width * height)), label, max_pixels)


def _resize(image: Image.Image, scale: float, label: str, max_pixels: int) -> Image.Image:
    width, height = image.size
    new_width, new_height = int(width * scale), int(height * scale)
    while new_width * new_height > max_pixels:  # float rounding can land one pixel over
        scale *= 0.999
        new_width, new_height = int(width * scale), int(height * scale)
    if min(new_width, new_height) < MIN_SIDE:
        raise ReferenceImageError(f"{label} cannot be made small enough for Seedream.", source=label)
    return image.resize((new_width, new_height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(image: Image.Image, label: str, max_bytes: int, max_pixels: int) -> PreparedReference:
    """JPEG (quality 90) for opaque images, PNG for transparent ones; shrunk until within both limits."""
    icc = image.info.get("icc_profile")
    family = _colour_family(image.mode)
    image = _to_plain_mode(image)
    if family != _colour_family(image.mode):
        icc = None  # e.g. a CMYK profile means nothing to the RGB pixels it became
    image = _fit_pixels(image, max_pixels, label)
    fmt = "png" if image.mode in ("RGBA", "LA") else "jpeg"
    for _ in range(8):
        data = _save(image, fmt, icc)
        if len(data) <= max_bytes:
            width, height = image.size
            return PreparedReference(_data_uri(fmt, data), label, fmt, width, height, True)
        # Encoded size grows about linearly with the pixel count; aim a little below the limit.
        image = _resize(image, math.sqrt(max_bytes / len(data)) * 0.95, label, max_pixels)
    raise ReferenceImageError(
        f"{label} could not be made smaller than {_amount(max_bytes / _MB)} MB.", source=label
    )


def _save(image: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, object] = {"icc_profile": icc} if icc else {}
    if fmt == "jpeg":
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, **options)
    else:
        # zlib level 1 is several times faster than the default on photos and costs only a few percent in size.
        image.save(buffer, "PNG", compress_level=1, **options)
    return buffer.getvalue()


def _data_uri(fmt: str, data: bytes) -> str:
    """`data:image/<fmt>;base64,...` with a single full-size copy.

    b64encode().decode() plus an f-string makes three copies of several megabytes each (bytes, str, str with
    the prefix); encoding cache-sized pieces and joining them once makes one, which brings preparing 14
    12-megapixel photos from ~1.25x to ~1.0x the cost of plain Base64 (bench/refs.py) and lowers peak memory.
    """
    view = memoryview(data)
    pieces = [f"data:image/{fmt};base64,"]
    pieces += [
        binascii.b2a_base64(view[start : start + _B64_PIECE], newline=False).decode("ascii")
        for start in range(0, len(view), _B64_PIECE)
    ]
    return "".join(pieces)


def _colour_family(mode: str) -> str:
    if mode in _GRAY_MODES or mode.startswith("I;16"):
        return "gray"
    return "rgb" if mode in _RGB_MODES else mode


# ---------------------------------------------------------------------------------------------------------
# Small helpers


class _pil_errors:
    """Turn whatever Pillow raises on a hostile or broken file into a ReferenceImageError naming it."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, ReferenceImageError) or not isinstance(exc, Exception):
            return False
        label = self.label
        if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
            message = f"{label} is too large to open safely (over Pillow's pixel limit)."
        elif isinstance(exc, MemoryError):
            message = f"{label} is too large to process."
        else:
            message = f"{label} could not be read as an image (it may be truncated or corrupt)."
        raise ReferenceImageError(message, source=label) from exc


def _amount(number: float) -> str:
    """1 decimal at most, no trailing zeros: 36, 0.1, 900."""
    return f"{number:,.1f}".rstrip("0").rstrip(".")


def _shorten(text: str, limit: int = 80) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
