"""Generated inputs: camera-like JPEGs (smooth colour fields plus sensor-like noise, EXIF with orientation 1).

Random pixels would compress far worse than photos and flat colours far better; this lands where phone photos
do (about 3 MB for 12 MP at quality 92). Files are cached in bench/results/fixtures and regenerated when the
recipe changes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.common import fixtures_dir

RECIPE = 1  # bump when the way pictures are made changes


def photo_like(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (height // 64 + 1, width // 64 + 1, 3), dtype=np.uint8))
    base = np.asarray(small.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.integers(-6, 7, (height, width, 1), dtype=np.int16)
    image = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))
    ImageDraw.Draw(image).text((40, 40), f"bench reference {seed}", fill=(255, 255, 255))
    return image


def camera_jpeg(image: Image.Image, quality: int = 92) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 1  # Orientation: upright, as most phones write it
    exif[0x010F] = "BenchCam"  # Make
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


def jpeg_set(name: str, count: int, width: int, height: int) -> list[Path]:
    """`count` distinct camera-like JPEGs of width x height, generated once and reused."""
    folder = fixtures_dir(name)
    manifest = folder / "manifest.json"
    wanted = {"recipe": RECIPE, "count": count, "width": width, "height": height}
    paths = [folder / f"ref-{i:02d}.jpg" for i in range(1, count + 1)]
    if manifest.exists() and json.loads(manifest.read_text()) == wanted and all(p.exists() for p in paths):
        return paths
    # One noise field, shifted per file: distinct bytes for a fraction of the cost of 14 noise fields.
    base = np.asarray(photo_like(width, height, seed=0))
    for i, path in enumerate(paths, start=1):
        shifted = Image.fromarray(np.roll(base, shift=(i * 97, i * 131), axis=(0, 1)))
        ImageDraw.Draw(shifted).text((40, 80), f"file {i} of {count}", fill=(255, 255, 0))
        path.write_bytes(camera_jpeg(shifted))
    manifest.write_text(json.dumps(wanted))
    return paths
