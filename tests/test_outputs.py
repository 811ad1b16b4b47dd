"""Results are kept as the original files, with useful names, and zipped with the parameters used."""

from __future__ import annotations

import base64
import json
import os
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from seedream_ui.outputs import purge_older_than, request_record, result_filename, save_generation, zip_generation
from seedream_ui.request import GenerateRequest
from tests.images import image_bytes

STAMP = datetime(2026, 11, 24, 15, 30, 12)


@dataclass
class FakeImage:
    data: bytes
    format: str


def test_file_names_say_what_when_and_which_in_the_image_s_own_format() -> None:
    assert result_filename(STAMP, 2, "png") == "seedream-20261124-153012-2.png"
    assert result_filename(STAMP, 1, "jpeg") == "seedream-20261124-153012-1.jpg"
    assert result_filename(STAMP, 3, "WEBP") == "seedream-20261124-153012-3.webp"


def test_saved_files_are_the_original_bytes(tmp_path: Path) -> None:
    originals = [FakeImage(image_bytes("JPEG"), "jpeg"), FakeImage(image_bytes("PNG"), "png")]
    saved = save_generation(tmp_path, originals, stamp=STAMP)

    assert [p.name for p in saved.files] == ["seedream-20261124-153012-1.jpg", "seedream-20261124-153012-2.png"]
    assert [p.read_bytes() for p in saved.files] == [o.data for o in originals]


def test_the_zip_holds_every_image_and_the_request_used(tmp_path: Path) -> None:
    request = GenerateRequest(
        prompt="a fox", size="2560x1440", sequential_image_generation="auto", max_images=2, watermark=False
    ).validated()
    images = [FakeImage(image_bytes("PNG"), "png"), FakeImage(image_bytes("PNG"), "png")]
    saved = save_generation(tmp_path, images, stamp=STAMP)
    assert list(saved.folder.iterdir()) != [] and not any(p.suffix == ".zip" for p in saved.folder.iterdir())

    zip_path = zip_generation(saved.files, request_record(request))

    assert zip_path.name == "seedream-20261124-153012.zip" and zip_path.parent == saved.folder
    assert zip_generation(saved.files, request_record(request)) == zip_path  # built once, then reused
    assert sorted(p.name for p in saved.folder.iterdir()) == [
        "seedream-20261124-153012-1.png", "seedream-20261124-153012-2.png", "seedream-20261124-153012.zip"
    ]  # fmt: skip
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == [
            "request.json",
            "seedream-20261124-153012-1.png",
            "seedream-20261124-153012-2.png",
        ]
        assert archive.read("seedream-20261124-153012-2.png") == images[1].data
        recorded = json.loads(archive.read("request.json"))
    assert recorded == {
        "prompt": "a fox",
        "size": "2560x1440",
        "watermark": False,
        "sequential_image_generation": "auto",
        "sequential_image_generation_options": {"max_images": 2},
    }


def test_request_json_names_uploaded_references_instead_of_inlining_megabytes() -> None:
    png = image_bytes("PNG", (400, 300))
    data_uri = "data:image/png;base64," + base64.b64encode(png).decode()
    request = GenerateRequest(prompt="p", images=("https://example.com/a.jpg", data_uri)).validated()

    record = request_record(request, ["https://example.com/a.jpg", "sketch.png"])

    assert record["image"][0] == "https://example.com/a.jpg"
    assert record["image"][1].startswith("sketch.png (image/png")
    assert "base64," not in json.dumps(record)


def test_old_generations_are_purged_and_recent_ones_kept(tmp_path: Path) -> None:
    old = save_generation(tmp_path, [FakeImage(image_bytes("PNG"), "png")])
    new = save_generation(tmp_path, [FakeImage(image_bytes("PNG"), "png")])
    an_hour_ago = time.time() - 3600
    os.utime(old.folder, (an_hour_ago, an_hour_ago))

    assert purge_older_than(tmp_path, max_age_s=600) == 1
    assert not old.folder.exists()
    assert new.files[0].exists()
