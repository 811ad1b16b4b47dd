"""What a share keeps on disk, byte for byte: result images, reference copies and thumbnails, the zip."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from PIL import Image

from seedream_ui.formats import sniff_format, split_data_uri
from seedream_ui.outputs import EXTENSIONS, result_filename
from seedream_ui.request import GenerateRequest
from seedream_ui.shares.errors import ShareError
from seedream_ui.shares.recipe import Recipe, Reference, UploadReference

MIME_TYPES = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "gif": "image/gif", "bmp": "image/bmp", "tiff": "image/tiff",
}
THUMB_PIXELS = 320  # the longest side of a reference's thumbnail on the shared page
# References reached us through references.py, which bounds them far below this; a stored file that is
# somehow bigger gets no thumbnail rather than a decompression bomb.
THUMB_MAX_SOURCE_PIXELS = 40_000_000


class ShareImage(NamedTuple):
    """A result as publish() takes it: the original bytes and what the client decoded of them."""

    data: bytes
    format: str
    width: int
    height: int


class ReferenceFile(NamedTuple):
    """An uploaded reference exactly as it was sent to the API."""

    name: str
    data: bytes


@dataclass(frozen=True)
class StoredImage:
    file: str  # the file name in the share's folder and in downloads: seedream-20261129-153012-1.jpg
    format: str
    width: int
    height: int
    bytes: int

    @property
    def mime(self) -> str:
        return MIME_TYPES[self.format]


def checked_images(images: Sequence[ShareImage | tuple[bytes, str, int, int]], created: datetime) -> list[
    tuple[StoredImage, bytes]
]:
    """Each result with its download name; the format is judged from the bytes, never taken on trust."""
    if not images:
        raise ShareError("There is nothing to share yet: generate an image first.")
    checked = []
    for index, item in enumerate(images, start=1):
        data, _, width, height = ShareImage(*item)
        fmt = sniff_format(data[:32])
        if fmt is None:
            raise ShareError(f"Result {index} is not an image this demo can share.")
        name = result_filename(created, index, fmt)
        checked.append((StoredImage(name, fmt, int(width), int(height), len(data)), data))
    return checked


def reference_file_name(index: int, data: bytes) -> str:
    """`reference-2.png`: the stored copy's name comes from its position and its bytes, never from the visitor."""
    fmt = sniff_format(data[:32])
    if fmt is None:
        raise ShareError(f"Reference {index} is not an image this demo can keep.")
    return f"reference-{index}.{EXTENSIONS[fmt]}"


def thumbnail(data: bytes) -> bytes | None:
    """A small WebP of a reference for the page (re-encoded, so the page never serves a visitor's own bytes)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > THUMB_MAX_SOURCE_PIXELS:
                return None
            image.draft("RGB", (THUMB_PIXELS, THUMB_PIXELS))  # JPEG: decode at a fraction of the size
            image.thumbnail((THUMB_PIXELS, THUMB_PIXELS))
            out = io.BytesIO()
            image.convert("RGBA" if "A" in image.getbands() else "RGB").save(out, "WEBP", quality=80)
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def reference_files_from_request(request: GenerateRequest, names: Sequence[str] = ()) -> list[ReferenceFile]:
    """The uploaded references of a sent request (its data URIs), in order, as publish() takes them."""
    files = []
    padded = list(names) + [""] * (len(request.images) - len(names))
    for value, name in zip(request.images, padded, strict=False):
        parts = split_data_uri(value)
        if parts is not None:
            files.append(ReferenceFile(name, base64.b64decode(parts[1])))
    return files


def load_images(paths: Sequence[Path]) -> list[ShareImage]:
    """Results saved on disk (a Generation's files) as publish() takes them; reads only each header for size."""
    images = []
    for path in paths:
        data = Path(path).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            images.append(ShareImage(data, (image.format or "").lower(), image.width, image.height))
    return images


def write_share(
    folder: Path, checked: list[tuple[StoredImage, bytes]], recipe: Recipe, files: list[ReferenceFile]
) -> tuple[Recipe, list[str | None], int]:
    """Write results, reference copies (as sent) and thumbnails; returns the recipe naming them and the bytes."""
    folder.mkdir(mode=0o700)
    for image, data in checked:
        (folder / image.file).write_bytes(data)
    references: list[Reference] = []
    thumbs: list[str | None] = []
    uploads = iter(files)
    for index, reference in enumerate(recipe.references, start=1):
        upload = next(uploads, None) if isinstance(reference, UploadReference) else None
        thumbs.append(None)
        if not isinstance(reference, UploadReference):
            references.append(reference)
            continue
        if upload is None:  # named but not at hand (a recipe from a request.json): no stored copy
            references.append(UploadReference(reference.name))
            continue
        name = reference_file_name(index, upload.data)
        (folder / name).write_bytes(upload.data)
        small = thumbnail(upload.data)
        if small is not None:
            thumbs[-1] = thumb = f"thumb-{index}.webp"
            (folder / thumb).write_bytes(small)
        references.append(UploadReference(reference.name, name))
    named = replace(recipe, references=tuple(references))
    (folder / "recipe.json").write_text(named.to_json(), encoding="utf-8")
    size = sum(path.stat().st_size for path in folder.iterdir())
    return named, thumbs, size


def write_zip(target: Path, folder: Path, images: Sequence[StoredImage], recipe: Recipe) -> None:
    """The shared zip: the images as stored (not re-compressed), request.json as the page's zip has it, and the
    recipe."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for image in images:
            archive.write(folder / image.file, arcname=image.file)
        for name, record in (("request.json", recipe.request_record()), ("recipe.json", recipe.to_dict())):
            archive.writestr(
                name, json.dumps(record, indent=2, ensure_ascii=False), compress_type=zipfile.ZIP_DEFLATED
            )


# ---- history entries (history.py) and shares made from them: links, not copies


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows it (the bytes are not written again), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def keep_generation(
    folder: Path, results: Sequence[Path], recipe: Recipe, uploads: Sequence[str]
) -> tuple[Recipe, list[StoredImage], int]:
    """A history entry's files: the results and the uploads as sent, linked from where the page keeps them.

    Nothing is decoded or re-encoded (this follows every generation on the page): each result's size comes from
    its header, and no thumbnail is made until the entry is shared.
    """
    folder.mkdir(mode=0o700)
    images = []
    for index, path in enumerate(results, start=1):
        with Image.open(path) as image:  # reads the header only
            fmt, width, height = sniff_format(_head(path)), image.width, image.height
        if fmt is None:
            raise ShareError(f"Result {index} is not an image this demo can keep.")
        link_or_copy(Path(path), folder / Path(path).name)
        images.append(StoredImage(Path(path).name, fmt, width, height, Path(path).stat().st_size))
    references: list[Reference] = []
    files = iter(uploads)
    for index, reference in enumerate(recipe.references, start=1):
        upload = next(files, None) if isinstance(reference, UploadReference) else None
        if not isinstance(reference, UploadReference) or upload is None:
            references.append(reference)
            continue
        try:
            name = reference_file_name(index, _head(Path(upload)))
            link_or_copy(Path(upload), folder / name)
        except OSError:  # Gradio's cache already removed it: the entry names it without a copy
            references.append(UploadReference(reference.name))
            continue
        references.append(UploadReference(reference.name, name))
    named = replace(recipe, references=tuple(references))
    (folder / "recipe.json").write_text(named.to_json(), encoding="utf-8")
    return named, images, sum(path.stat().st_size for path in folder.iterdir())


def link_share(
    source: Path, images: Sequence[StoredImage], recipe: Recipe, folder: Path
) -> tuple[Recipe, list[str | None], int]:
    """A share made from a history entry in `source`: its files linked, the references' thumbnails made."""
    folder.mkdir(mode=0o700)
    for image in images:
        link_or_copy(source / image.file, folder / image.file)
    thumbs: list[str | None] = []
    for index, reference in enumerate(recipe.references, start=1):
        thumbs.append(None)
        if isinstance(reference, UploadReference) and reference.file:
            link_or_copy(source / reference.file, folder / reference.file)
            small = thumbnail((folder / reference.file).read_bytes())
            if small is not None:
                thumbs[-1] = thumb = f"thumb-{index}.webp"
                (folder / thumb).write_bytes(small)
    (folder / "recipe.json").write_text(recipe.to_json(), encoding="utf-8")
    return recipe, thumbs, sum(path.stat().st_size for path in folder.iterdir())


def _head(path: Path) -> bytes:
    with open(path, "rb") as file:
        return file.read(32)
