"""What can be known about a reference from its header alone: format, size, whether the API takes it as it is."""

from __future__ import annotations

import io

from PIL import (
    BmpImagePlugin,
    ExifTags,
    GifImagePlugin,
    Image,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from seedream_ui.errors import ReferenceImageError
from seedream_ui.formats import ALLOWED_FORMATS, sniff_format
from seedream_ui.references.limits import (
    MAX_ASPECT_RATIO,
    MAX_DECODE_PIXELS,
    MIN_SIDE,
    DecodePlan,
    amount,
    decode_cost,
    megabytes,
    pixel_limit,
)

# Modes every decoder handles; anything else (CMYK, 16-bit, float, ...) is converted first.
_SENDABLE_MODES = frozenset({"RGB", "RGBA", "L", "LA", "P", "1"})
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


def open_image(fmt: str, data: bytes) -> ImageFile.ImageFile:
    """The image with only its header read."""
    return _OPENERS[fmt](io.BytesIO(data))


def check_geometry(size: tuple[int, int], label: str, fmt: str | None = None) -> None:
    """Refuse sizes Seedream rejects, and sizes too large to decode in this format."""
    width, height = size
    pixels = width * height
    limit = pixel_limit(fmt)
    if pixels > limit:
        which = "image" if limit == MAX_DECODE_PIXELS else f"{(fmt or '').upper()} image"
        hint = "" if limit == MAX_DECODE_PIXELS else f" (JPEG up to {amount(MAX_DECODE_PIXELS / 1e6)})"
        raise ReferenceImageError(
            f"{label} is {width}x{height} ({amount(pixels / 1e6)} megapixels); the largest {which} accepted is "
            f"{amount(limit / 1e6)} megapixels{hint}. Make it smaller and try again.",
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
            f"{label} is {width}x{height}, an aspect ratio of {amount(ratio)}:1; Seedream accepts 1:16 to 16:1. "
            "Crop it first (shrinking it would not change its shape).",
            source=label,
        )


def plan_decode(
    fmt: str, image: Image.Image, label: str, max_pixels: int, capacity: int, file_bytes: int = 0
) -> DecodePlan:
    """The decode plan for `image`, or a refusal if its estimated memory can never fit `capacity`."""
    samples = _progressive_samples(fmt, image)
    plan = decode_cost(fmt, image.mode, image.size, max_pixels, coefficients=samples, file_bytes=file_bytes)
    if plan.cost > capacity:
        width, height = image.size
        raise ReferenceImageError(
            f"{label} is {width}x{height} ({amount(width * height / 1e6)} megapixels, {image.mode}); preparing it "
            f"would need about {megabytes(plan.cost)} of memory, more than this server allows for one image "
            f"({megabytes(capacity)}). Make it smaller and try again.",
            source=label,
        )
    return plan


def inspect(data: bytes, label: str) -> tuple[str, ImageFile.ImageFile]:
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
    with pil_errors(label):
        header = open_image(fmt, data)  # the plugins read the header only
    check_geometry(header.size, label, fmt)
    return fmt, header


def can_send_as_is(fmt: str, data: bytes, image: ImageFile.ImageFile, max_bytes: int, max_pixels: int) -> bool:
    """True if the API surely takes these bytes as they are: no decoding, cheapest checks first."""
    if len(data) > max_bytes or image.width * image.height > max_pixels:
        return False
    try:
        return (
            image.mode in _SENDABLE_MODES
            and _looks_complete(fmt, data, image)
            and orientation(fmt, data, image) == 1
            and not getattr(image, "is_animated", False)  # the first frame is sent instead
        )
    except Exception:  # odd metadata (EXIF, frames): the decoding path will tell what, if anything, is wrong
        return False


def _progressive_samples(fmt: str, image: Image.Image) -> float:
    """Samples per pixel a progressive JPEG buffers at full size (its coefficients), else 0."""
    if fmt != "jpeg" or not (image.info.get("progressive") or image.info.get("progression")):
        return 0.0
    layers = getattr(image, "layer", None) or []
    if not layers:
        return 4.0
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    return sum((layer[1] / h_max) * (layer[2] / v_max) for layer in layers)


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
    offsets = tags.get(273) or tags.get(324) or ()  # strip or tile offsets
    counts = tags.get(279) or tags.get(325) or ()  # their byte counts
    return (
        tags.get(259, 1) in _PLAIN_TIFF_COMPRESSIONS
        and tags.get(284, 1) == 1  # colour planes interleaved: simple readers handle no other layout
        and bool(offsets)
        and bool(counts)
        and len(offsets) == len(counts)
        and max(o + c for o, c in zip(offsets, counts, strict=True)) <= len(data)
    )


def orientation(fmt: str, data: bytes, image: ImageFile.ImageFile) -> int:
    """The EXIF orientation from the header; 0 when it cannot be known without decoding."""
    if fmt == "png" and "exif" not in image.info:
        # PngImageFile.getexif() decodes the image to look for an eXIf chunk after the pixel data.
        return 0 if b"eXIf" in data else 1
    return int(image.getexif().get(ExifTags.Base.Orientation, 1))


class pil_errors:
    """Turn whatever Pillow raises on a hostile or broken file into a ReferenceImageError naming it."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, ReferenceImageError) or not isinstance(exc, Exception):
            return  # nothing to translate: let it propagate as it is
        label = self.label
        if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
            message = f"{label} is too large to open safely (over Pillow's pixel limit)."
        elif isinstance(exc, MemoryError):
            message = f"{label} is too large to process."
        else:
            message = f"{label} could not be read as an image (it may be truncated or corrupt)."
        raise ReferenceImageError(message, source=label) from exc
