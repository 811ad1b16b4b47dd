"""Decode a reference (first frame, at reduced scale when possible), make it upright and plain, shrink, re-encode.

Each step frees the image it replaced as soon as the new one exists (`Image.close`), so that at most two
full-size copies are alive at once: the cost `limits.decode_cost` estimates. Rotation happens last, on the
shrunk image, and 16-bit or float images become 8 bits a band of rows at a time.
"""

from __future__ import annotations

import binascii
import io
import math
from typing import cast

from PIL import ExifTags, Image, ImageFile

from seedream_ui.errors import ReferenceImageError
from seedream_ui.references.limits import BAND_PIXELS, MIN_SIDE, jpeg_scale, megabytes

JPEG_QUALITY = 90
# A multiple of 3, so that the Base64 of consecutive pieces joins up with no padding in between.
_B64_PIECE = 3 * 64 * 1024
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "F"})
_RGB_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA"})
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def decode(image: ImageFile.ImageFile, fmt: str, max_pixels: int) -> Image.Image:
    """Decode the first frame; a JPEG straight at the reduced scale `jpeg_scale` picks."""
    scale = jpeg_scale(image.size, max_pixels) if fmt == "jpeg" else 1
    if scale > 1:
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale for much less work and memory than a full decode and resize.
        image.draft(image.mode, (image.width // scale, image.height // scale))
    image.load()
    return image


def finish(
    image: Image.Image, label: str, max_bytes: int, max_pixels: int, *, owned: bool
) -> tuple[str, str, int, int]:
    """(data URI, format, width, height) of `image` upright, plain, within both limits.

    `owned`: whether this function may free `image` (never a caller's own PIL image).
    """
    orientation = int(image.getexif().get(ExifTags.Base.Orientation, 1))
    icc = image.info.get("icc_profile")
    family = _colour_family(image.mode)
    image, owned = _replace(image, _to_plain_mode(image), owned)
    if family != _colour_family(image.mode):
        icc = None  # e.g. a CMYK profile means nothing to the RGB pixels it became
    image, owned = _replace(image, _fit_pixels(image, max_pixels, label, owned), owned)
    if orientation in _TRANSPOSE:
        image, owned = _replace(image, image.transpose(_TRANSPOSE[orientation]), owned)
    image, owned = _replace(image, _drop_opaque_alpha(image), owned)
    return _encode(image, label, max_bytes, max_pixels, icc)


def data_uri(fmt: str, data: bytes) -> str:
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


def _replace(old: Image.Image, new: Image.Image, owned: bool) -> tuple[Image.Image, bool]:
    """Step from `old` to `new`, freeing `old` at once if it is ours and no longer needed."""
    if new is old:
        return old, owned
    if owned:
        old.close()
    return new, True


def _to_plain_mode(image: Image.Image) -> Image.Image:
    """RGB, RGBA, L or LA: modes JPEG or PNG can hold (opaque alpha is dropped later, on the smaller image)."""
    mode = image.mode
    if mode in ("P", "PA"):
        return image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    if mode == "1":
        return image.convert("L")
    if mode in ("RGBa", "La"):
        return image.convert(mode.upper())
    if mode.startswith("I;16"):
        return _to_8_bits(image, 1 / 256, 0.0)  # convert() would clip at 255
    if mode in ("I", "F"):
        low, high = cast("tuple[float, float]", image.getextrema())
        if low >= 0 and high <= 255:
            return _to_8_bits(image, 1.0, 0.0)
        if low >= 0 and high <= 65535:
            return _to_8_bits(image, 1 / 256, 0.0)
        span = float(high - low) or 1.0  # anything else: stretch the range that is there
        return _to_8_bits(image, 255 / span, -low * 255 / span)
    if mode not in ("RGB", "RGBA", "L", "LA"):
        return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX
    return image


def _to_8_bits(image: Image.Image, scale: float, offset: float) -> Image.Image:
    """`v * scale + offset` as an L image, a band of rows at a time: never a 32-bit copy of the whole image."""
    width, height = image.size
    target = Image.new("L", image.size)
    rows = max(1, BAND_PIXELS // width)
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(height, top + rows)))
        if band.mode.startswith("I;16"):
            band = band.convert("I")
        if (scale, offset) != (1.0, 0.0):
            band = band.point(lambda v: v * scale + offset)
        target.paste(band.convert("L"), (0, top))
    return target


def _drop_opaque_alpha(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") and cast("tuple[tuple[int, int], ...]", image.getextrema())[-1][0] == 255:
        return image.convert(image.mode[0] if image.mode == "LA" else "RGB")  # opaque: JPEG is smaller
    return image


def output_size(fmt: str, size: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    """The size `decode` then `_fit_pixels` bring an image of `size` to, known from its header: what a preflight
    announces. (Before an EXIF rotation, and before `_encode` shrinks an image still over the byte limit.)"""
    scale = jpeg_scale(size, max_pixels) if fmt == "jpeg" else 1
    decoded = (-(-size[0] // scale), -(-size[1] // scale))  # libjpeg's reduced scales round up
    if decoded[0] * decoded[1] <= max_pixels:
        return decoded
    return scaled_size(decoded, _fit_scale(decoded, max_pixels), max_pixels)


def scaled_size(size: tuple[int, int], scale: float, max_pixels: int) -> tuple[int, int]:
    """`size` times `scale`, rounded down, and never over `max_pixels`."""
    width, height = size
    new_width, new_height = int(width * scale), int(height * scale)
    while new_width * new_height > max_pixels:  # float rounding can land one pixel over
        scale *= 0.999
        new_width, new_height = int(width * scale), int(height * scale)
    return new_width, new_height


def _fit_scale(size: tuple[int, int], max_pixels: int) -> float:
    return math.sqrt(max_pixels / (size[0] * size[1]))


def _fit_pixels(image: Image.Image, max_pixels: int, label: str, owned: bool) -> Image.Image:
    width, height = image.size
    if width * height <= max_pixels:
        return image
    return _resize(image, _fit_scale(image.size, max_pixels), label, max_pixels, owned=owned)


def _resize(image: Image.Image, scale: float, label: str, max_pixels: int, *, owned: bool = False) -> Image.Image:
    size = scaled_size(image.size, scale, max_pixels)
    if min(size) < MIN_SIDE:
        raise ReferenceImageError(f"{label} cannot be made small enough for Seedream.", source=label)
    if image.mode not in ("RGBA", "LA"):
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    # What Image.resize does for alpha (resample premultiplied colours), but freeing the source once its
    # premultiplied copy exists: one full-size copy fewer at the peak.
    premultiplied = image.convert(image.mode[:-1] + "a")
    if owned:
        image.close()
    small = premultiplied.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    premultiplied.close()
    return small.convert(small.mode.upper())


def _encode(
    image: Image.Image, label: str, max_bytes: int, max_pixels: int, icc: bytes | None
) -> tuple[str, str, int, int]:
    """JPEG (quality 90) for opaque images, PNG for transparent ones; shrunk until within both limits."""
    fmt = "png" if image.mode in ("RGBA", "LA") else "jpeg"
    for _ in range(8):
        data = _save(image, fmt, icc)
        if len(data) <= max_bytes:
            return data_uri(fmt, data), fmt, image.width, image.height
        # Encoded size grows about linearly with the pixel count; aim a little below the limit.
        image = _resize(image, math.sqrt(max_bytes / len(data)) * 0.95, label, max_pixels)
    raise ReferenceImageError(f"{label} could not be made smaller than {megabytes(max_bytes)}.", source=label)


def _save(image: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, object] = {"icc_profile": icc} if icc else {}
    if fmt == "jpeg":
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, **options)
    else:
        # zlib level 1 is several times faster than the default on photos and costs only a few percent in size.
        image.save(buffer, "PNG", compress_level=1, **options)
    return buffer.getvalue()


def _colour_family(mode: str) -> str:
    if mode in _GRAY_MODES or mode.startswith("I;16"):
        return "gray"
    return "rgb" if mode in _RGB_MODES else mode

