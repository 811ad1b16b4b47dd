"""Test images, made at run time: ordinary pictures, and small files that decode to huge ones (amplifiers).

The one place tests get an image from: `image_bytes` / `image_file` / `data_uri` for a plain one-colour picture in
any format and mode, `gradient` / `noise` for content, and the amplifiers. The amplifiers are written by hand (PNG,
BMP) or with Pillow from one-colour images, so they stay a few hundred KB on disk whatever size they claim; they
are what a hostile visitor would upload.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

from PIL import Image

from seedream_ui.references import PreparedReference

PILLOW_NAMES = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "bmp": "BMP", "tiff": "TIFF", "gif": "GIF"}
RED = (200, 40, 40)
GREY = 120  # the default colour of a single-band image (L, I;16, 1)


def solid(size: tuple[int, int] = (16, 12), colour: tuple[int, ...] | int | None = None, mode: str = "RGB") -> Image.Image:
    """A one-colour picture: red by default, opaque mid grey in a grey mode (L, LA, I;16, 1, P's index)."""
    if colour is None:
        bands = Image.getmodebands(mode)
        colour = GREY if bands == 1 else (GREY, 255) if bands == 2 else RED
    return Image.new(mode, size, colour)


def image_bytes(
    fmt: str = "PNG",
    size: tuple[int, int] = (16, 12),
    colour: tuple[int, ...] | int | None = None,
    mode: str = "RGB",
    **options: object,
) -> bytes:
    """A one-colour image file as Pillow writes it (the real magic bytes and headers). `fmt` as "png" or "PNG"."""
    return encode(solid(size, colour, mode), fmt, **options)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def data_uri(fmt: str = "png", size: tuple[int, int] = (16, 12), colour: tuple[int, ...] | int | None = None) -> str:
    return f"data:image/{fmt.lower()};base64,{b64(image_bytes(fmt, size, colour))}"


def image_file(path: Path, size: tuple[int, int] = (64, 48), colour: tuple[int, ...] | int | None = None) -> Path:
    """A one-colour image written to `path`, in the format its suffix names."""
    solid(size, colour).save(path)
    return path


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def payload(prepared: PreparedReference) -> tuple[str, bytes]:
    """(mime type, decoded bytes) of a prepared data URI."""
    header, _, b64 = prepared.value.partition(",")
    assert header.startswith("data:") and header.endswith(";base64")
    return header[5:-7], base64.b64decode(b64, validate=True)


def opened(prepared: PreparedReference) -> Image.Image:
    image = Image.open(io.BytesIO(payload(prepared)[1]))
    image.load()
    return image


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    """The pixel at `xy` as a tuple, whatever the mode (a single-band image gives a 1-tuple)."""
    value = image.getpixel(xy)
    return value if isinstance(value, tuple) else (int(value or 0),)


def area(prepared: PreparedReference) -> int:
    """Width x height of a prepared image (not of a URL)."""
    assert prepared.width is not None and prepared.height is not None
    return prepared.width * prepared.height


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, PILLOW_NAMES.get(fmt.lower(), fmt), **options)
    return buffer.getvalue()


def gradient(width: int, height: int) -> Image.Image:
    """A smooth RGB picture (compresses well, so sizes stay small)."""
    ramp = Image.linear_gradient("L").resize((width, height))
    return Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp.rotate(90)))


def noise(width: int, height: int) -> Image.Image:
    """Random pixels: compresses badly, so it is large in bytes for its size in pixels."""
    return Image.merge("RGB", [Image.effect_noise((width, height), 80) for _ in range(3)])


def with_orientation(image: Image.Image, orientation: int, **options: object) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "jpeg", exif=exif.tobytes(), **options)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# PNG colour types by the mode they decode to, with their channels.
_PNG_TYPES = {"1": (0, 1), "L": (0, 1), "I;16": (0, 1), "RGB": (2, 3), "P": (3, 1), "RGBA": (6, 4), "LA": (4, 2)}


def flat_png(width: int, height: int, mode: str = "1") -> bytes:
    """A valid PNG of zeros (one colour) that decodes to `mode`: tiny on disk whatever its size.

    Modes: 1, L, I;16 (16-bit grey), RGB, P (a 2-colour palette), RGBA, LA.
    """
    colour_type, channels = _PNG_TYPES[mode]
    depth = 1 if mode == "1" else 16 if mode == "I;16" else 8
    row = b"\x00" * (1 + (width * channels * depth + 7) // 8)  # a filter byte, then the packed samples
    compressor = zlib.compressobj(1)  # the fastest level; zeros shrink about 1000x anyway
    block = row * max(1, 4_000_000 // len(row))
    rows_per_block = len(block) // len(row)
    full, rest = divmod(height, rows_per_block)
    idat = b"".join(compressor.compress(block) for _ in range(full)) + compressor.compress(row * rest)
    idat += compressor.flush()
    chunks = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0))
    if mode == "P":
        chunks += png_chunk(b"PLTE", bytes([20, 20, 220, 220, 20, 20]))
    return b"\x89PNG\r\n\x1a\n" + chunks + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of zeros: ~0.5 MB on disk for 900 megapixels."""
    return flat_png(width, height, "1")


def rle8_bmp(width: int, height: int) -> bytes:
    """An 8-bit run-length encoded BMP of one colour: each row is runs of 255 pixels, then end of line."""
    full, rest = divmod(width, 255)
    row = b"\xff\x00" * full + (bytes([rest, 0]) if rest else b"") + b"\x00\x00"
    pixels = row * height + b"\x00\x01"  # end of bitmap
    palette = b"\xdc\x14\x14\x00" * 256
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    offset = 14 + len(info) + len(palette)
    header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    return header + info + palette + pixels


def flat_frames(fmt: str, width: int, height: int, frames: int = 3, **options: object) -> bytes:
    """An animated GIF, WebP or APNG (fmt "png"), or a multi-page TIFF, of one-colour frames."""
    colours = [(220, 20, 20), (20, 200, 20), (20, 20, 220)]
    images = [Image.new("RGB", (width, height), colours[i % 3]) for i in range(frames)]
    if fmt == "gif":
        images = [image.convert("P") for image in images]
    extra: dict[str, object] = {"duration": 100, "loop": 0} if fmt in ("gif", "webp", "png") else {}
    if fmt == "webp":
        extra["lossless"] = True
    if fmt == "tiff":
        extra["compression"] = "tiff_adobe_deflate"
    return encode(images[0], fmt, save_all=True, append_images=images[1:], **extra, **options)


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims another size."""
    data = bytearray(encode(gradient(16, 16), "jpeg"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_claiming(width: int, height: int) -> bytes:
    """A small GIF whose logical screen and only frame claim another size."""
    data = bytearray(encode(Image.new("P", (16, 16)), "gif"))
    data[6:10] = struct.pack("<HH", width, height)
    descriptor = data.index(b",")
    data[descriptor + 5 : descriptor + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def flat_jpeg(width: int, height: int, **options: object) -> bytes:
    """A one-colour JPEG: small on disk, `width x height` when decoded."""
    return encode(Image.new("RGB", (width, height), (20, 120, 220)), "jpeg", quality=50, **options)
