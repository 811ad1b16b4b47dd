"""The functions behind the page's widgets, driven directly (no browser, no Gradio) against the stand-in API."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from seedream_ui import backend as backend_module
from seedream_ui import generation as gen
from seedream_ui.backend import NO_KEY_MESSAGE, PURGE_INTERVAL_S, Backend
from seedream_ui.client import SeedreamClient
from seedream_ui.config import Settings
from seedream_ui.errors import APIError, AuthenticationError, ContentPolicyError, ReferenceImageError, ValidationError
from seedream_ui.generation import GenerationForm
from seedream_ui.request import MAX_REFERENCES
from seedream_ui.stub_api import StubServer, read_marker

KEY = "visitor-key-5f2a"
SMALL = "1920x1920"  # the smallest square the API allows: the cheapest for the stand-in to draw


def png_file(folder: Path, name: str, size: tuple[int, int] = (40, 30), colour: tuple[int, int, int] = (30, 90, 200)) -> str:
    path = folder / name
    Image.new("RGB", size, colour).save(path, "PNG")
    return str(path)


@pytest.fixture
async def client(stub: StubServer) -> AsyncIterator[SeedreamClient]:
    async with SeedreamClient(api_url=stub.url, max_retries=0, read_timeout=20) as seedream:
        yield seedream


@pytest.fixture
def output_root(tmp_path: Path) -> Path:
    root = tmp_path / "outputs"
    root.mkdir()
    return root


# ---- build_request -------------------------------------------------------------------------------


async def test_build_request_maps_the_form_fields_to_the_api_fields() -> None:
    request, names = await gen.build_request(
        GenerationForm(prompt="  a paper boat  ", size="2560 x 1440", watermark=False, optimize_prompt_mode="standard")
    )
    assert request.to_payload() == {
        "prompt": "a paper boat",
        "size": "2560x1440",
        "watermark": False,
        "optimize_prompt_options": {"mode": "standard"},
        "sequential_image_generation": "disabled",
    }
    assert names == []


async def test_build_request_ignores_the_hidden_max_images_value_unless_sequential_is_auto() -> None:
    single, _ = await gen.build_request(GenerationForm(prompt="boat", max_images=4, sequential_image_generation="disabled"))
    sequence, _ = await gen.build_request(GenerationForm(prompt="boat", max_images=4, sequential_image_generation="auto"))
    assert single.max_images is None and "sequential_image_generation_options" not in single.to_payload()
    assert sequence.to_payload()["sequential_image_generation_options"] == {"max_images": 4}


async def test_build_request_sends_uploads_as_data_uris_and_urls_unchanged(tmp_path: Path) -> None:
    upload = png_file(tmp_path, "sketch.png")
    request, names = await gen.build_request(
        GenerationForm(prompt="combine", reference_files=[upload], reference_urls="\n https://example.com/a.jpg \n\n")
    )
    assert request.images[0].startswith("data:image/png;base64,")
    assert request.images[1] == "https://example.com/a.jpg"
    assert names[0] == "sketch.png"
    assert len(names) == 2


async def test_build_request_refuses_more_than_14_references_counting_uploads_and_urls(tmp_path: Path) -> None:
    uploads = [png_file(tmp_path, f"r{i}.png") for i in range(12)]
    urls = "\n".join(f"https://example.com/{i}.jpg" for i in range(3))
    with pytest.raises(ValidationError) as caught:
        await gen.build_request(GenerationForm(prompt="too many", reference_files=uploads, reference_urls=urls))
    assert caught.value.field == "image"
    assert "15 reference images given (12 uploaded, 3 URLs)" in str(caught.value)
    assert "Remove 1" in str(caught.value)


async def test_build_request_reports_a_bad_size_before_reading_any_reference_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "deleted-meanwhile.png")
    with pytest.raises(ValidationError) as caught:
        await gen.build_request(GenerationForm(prompt="boat", size="100x100", reference_files=[missing]))
    assert caught.value.field == "size"
    assert "100x100" in str(caught.value)


async def test_build_request_refuses_references_plus_max_images_over_15(tmp_path: Path) -> None:
    uploads = [png_file(tmp_path, f"r{i}.png") for i in range(5)]
    with pytest.raises(ValidationError) as caught:
        await gen.build_request(
            GenerationForm(prompt="seq", reference_files=uploads, sequential_image_generation="auto", max_images=11)
        )
    assert "15" in str(caught.value)


async def test_build_request_names_an_unreadable_upload(tmp_path: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("not an image at all")
    with pytest.raises(ReferenceImageError) as caught:
        await gen.build_request(GenerationForm(prompt="edit", reference_files=[str(notes)]))
    assert "notes.png" in str(caught.value)


# ---- generate ------------------------------------------------------------------------------------


async def test_generate_saves_the_images_of_the_requested_size_and_a_zip_with_the_request(
    client: SeedreamClient, stub: StubServer, output_root: Path, tmp_path: Path
) -> None:
    sketch = png_file(tmp_path, "sketch.png")
    form = GenerationForm(
        prompt="a lighthouse at dusk",
        size="2560x1440",
        reference_files=[sketch],
        reference_urls="https://example.com/palette.jpg",
    )
    done = await gen.generate(client, form, api_key=KEY, output_root=output_root)

    assert len(done.files) == 1
    path = done.files[0]
    assert path.parent.parent == output_root and path.suffix == ".jpg"
    with Image.open(path) as image:
        assert image.size == (2560, 1440)
    marker = read_marker(path.read_bytes())
    assert marker is not None and marker["prompt"] == "a lighthouse at dusk"
    upload, url = marker["references"]  # what the stand-in received, in order
    assert upload["kind"] == "base64" and upload["sha256"] == hashlib.sha256(Path(sketch).read_bytes()).hexdigest()[:16]
    assert url == {"kind": "url", "host": "example.com", "url": "https://example.com/palette.jpg"}
    assert done.status.startswith("✓ 1 image · 2560x1440 · ")
    assert done.prompt == "a lighthouse at dusk" and done.size == "2560x1440"

    assert list(path.parent.iterdir()) == [path]  # no zip until one is asked for
    zip_path = await gen.download_all(done)
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == sorted([path.name, "request.json"])
        assert archive.read(path.name) == path.read_bytes()
        record = json.loads(archive.read("request.json"))
    assert record["prompt"] == "a lighthouse at dusk" and record["size"] == "2560x1440"
    assert record["image"][0].startswith("sketch.png (image/png")
    assert record["image"][1] == "https://example.com/palette.jpg"
    assert KEY not in zip_path.read_bytes().decode("latin-1")

    (sent,) = stub.requests()
    assert sent["api_key"] == KEY
    assert sent["body"]["image"][0].startswith("data:image/png;base64,")


async def test_generate_a_sequence_returns_max_images_results(
    client: SeedreamClient, stub: StubServer, output_root: Path
) -> None:
    form = GenerationForm(prompt="a storyboard", size=SMALL, sequential_image_generation="auto", max_images=3)
    done = await gen.generate(client, form, api_key=KEY, output_root=output_root)
    assert [p.name[-6:] for p in done.files] == ["-1.jpg", "-2.jpg", "-3.jpg"]
    assert done.status.startswith("✓ 3 images · 1920x1920")
    assert "3 image(s)" in done.caption
    assert stub.requests()[0]["body"]["sequential_image_generation_options"] == {"max_images": 3}


async def test_generate_with_an_invalid_size_sends_nothing(
    client: SeedreamClient, stub: StubServer, output_root: Path
) -> None:
    with pytest.raises(ValidationError, match="3,686,400"):
        await gen.generate(client, GenerationForm(prompt="boat", size="1000x1000"), api_key=KEY, output_root=output_root)
    assert stub.requests() == []
    assert list(output_root.iterdir()) == []


@pytest.mark.parametrize("visitor_key", [None, "", "   "])
def test_with_no_key_anywhere_the_backend_says_so_once(output_root: Path, visitor_key: str | None) -> None:
    backend = Backend(Settings(api_key=None), SeedreamClient(api_url="http://api.invalid/"), output_root)
    with pytest.raises(AuthenticationError) as caught:
        backend.route(visitor_key)
    assert str(caught.value) == NO_KEY_MESSAGE
    assert NO_KEY_MESSAGE.startswith("No API key")


def test_the_visitors_key_wins_over_the_servers(output_root: Path) -> None:
    seedream = SeedreamClient(api_url="http://api.invalid/")
    backend = Backend(Settings(api_key="server-key"), seedream, output_root)
    assert backend.route("  visitor-key  ") == (seedream, "visitor-key")
    assert backend.route("   ") == (seedream, "server-key")


@pytest.mark.parametrize(
    ("key", "says"),
    [(5, "The API key must be text, not a number."), (["k"], "The API key must be text, not a list."),
     ("k" * 5000, "The API key is 5,000 characters long; keys are at most 1,024.")],
    ids=["number", "list", "huge"],
)  # fmt: skip
def test_a_key_of_the_wrong_type_or_size_is_refused(output_root: Path, key: object, says: str) -> None:
    backend = Backend(Settings(api_key="server-key"), SeedreamClient(api_url="http://api.invalid/"), output_root)
    with pytest.raises(ValidationError) as caught:
        backend.route(key)
    assert str(caught.value) == says


def test_old_results_are_purged_at_most_once_a_minute(output_root: Path) -> None:
    backend = Backend(Settings(api_key="k"), SeedreamClient(api_url="http://api.invalid/"), output_root)
    assert backend.purge_due(now=1000.0)
    assert not backend.purge_due(now=1000.0 + PURGE_INTERVAL_S - 1)
    assert backend.purge_due(now=1000.0 + PURGE_INTERVAL_S)


async def test_purging_deletes_old_result_folders_without_rescanning_every_time(
    output_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = output_root / "20260101-000000-old"
    old.mkdir()
    os.utime(old, (0, 0))
    recent = output_root / "recent"
    recent.mkdir()
    scans: list[Path] = []
    real_purge = backend_module.purge_older_than
    monkeypatch.setattr(backend_module, "purge_older_than", lambda root, age: scans.append(root) or real_purge(root, age))
    backend = Backend(Settings(api_key="k"), SeedreamClient(api_url="http://api.invalid/"), output_root)
    for _ in range(5):
        await backend.purge_old_results()
    assert scans == [output_root] and not old.exists() and recent.exists()
    assert backend.last_purge is not None
    backend.last_purge -= PURGE_INTERVAL_S  # as if a minute had passed
    await backend.purge_old_results()
    assert scans == [output_root, output_root]


async def test_generate_passes_api_errors_on_with_the_apis_meaning(
    client: SeedreamClient, stub: StubServer, output_root: Path
) -> None:
    stub.queue_faults(["content-policy", "500"])
    form = GenerationForm(prompt="boat", size=SMALL)
    with pytest.raises(ContentPolicyError):
        await gen.generate(client, form, api_key=KEY, output_root=output_root)
    with pytest.raises(APIError) as caught:
        await gen.generate(client, form, api_key=KEY, output_root=output_root)
    assert caught.value.status_code == 500
    assert KEY not in str(caught.value)
    assert list(output_root.iterdir()) == []


async def test_generate_warns_about_a_long_prompt_but_still_generates(
    client: SeedreamClient, output_root: Path
) -> None:
    form = GenerationForm(prompt="word " * 650, size=SMALL)
    done = await gen.generate(client, form, api_key=KEY, output_root=output_root)
    assert len(done.files) == 1
    assert done.warnings == (
        (
            "The prompt is long (650 words, 0 Chinese characters); Seedream recommends at most 600 English words "
            "or 300 Chinese characters, and may ignore the rest."
        ),
    )
    assert done.status.count("⚠ The prompt is long") == 1


async def test_generate_keeps_the_images_that_downloaded_and_warns_about_the_others(
    client: SeedreamClient, stub: StubServer, output_root: Path
) -> None:
    stub.queue_faults(["partial-url-404"])
    form = GenerationForm(prompt="storyboard", size=SMALL, sequential_image_generation="auto", max_images=2)
    done = await gen.generate(client, form, api_key=KEY, output_root=output_root)
    assert len(done.files) == 1
    (warning,) = done.warnings
    assert warning.startswith("1 of 2 images could not be downloaded from Seedream: ")


@pytest.mark.parametrize("shown", [None, "a generation", {"files": ["/etc/passwd"]}], ids=repr)
async def test_download_all_before_any_generation_asks_for_one(shown: object) -> None:
    with pytest.raises(ValidationError, match="Generate an image first"):
        await gen.download_all(shown)


# ---- references ------------------------------------------------------------------------------------


def test_merge_uploads_accepts_new_files_within_the_limit() -> None:
    merged, problem = gen.merge_uploads(["a.png"], ["a.png", "b.png"], url_count=0)
    assert merged == ["a.png", "b.png"] and problem is None


def test_merge_uploads_over_the_limit_keeps_what_the_user_had_and_says_why() -> None:
    kept = [f"{i}.png" for i in range(2)]
    incoming = kept + [f"new{i}.png" for i in range(13)]
    merged, problem = gen.merge_uploads(kept, incoming, url_count=0)
    assert merged == kept
    assert problem is not None
    assert f"at most {MAX_REFERENCES}" in problem and "15 would be too many" in problem and "13 just added" in problem


def test_merge_uploads_counts_reference_urls_against_the_limit() -> None:
    merged, problem = gen.merge_uploads([], ["a.png", "b.png", "c.png"], url_count=12)
    assert merged == [] and problem is not None and "uploads plus URLs" in problem
    merged, problem = gen.merge_uploads([], ["a.png", "b.png"], url_count=12)
    assert merged == ["a.png", "b.png"] and problem is None


def test_use_as_reference_adds_the_selected_result() -> None:
    merged, message = gen.use_as_reference(["sketch.png"], ["r1.jpg", "r2.jpg"], 1, url_count=0)
    assert merged == ["sketch.png", "r2.jpg"]
    assert message == f"Added result 2 as reference 2 of {MAX_REFERENCES}."


@pytest.mark.parametrize("selected", [None, 2, -1, "1", [1], True, 1.0], ids=repr)
def test_use_as_reference_without_a_selected_result_asks_to_click_one(selected: object) -> None:
    with pytest.raises(ValidationError, match="Click a result"):
        gen.use_as_reference([], ["r1.jpg", "r2.jpg"], selected, url_count=0)


def test_use_as_reference_when_references_are_full_refuses() -> None:
    kept = [f"{i}.png" for i in range(MAX_REFERENCES)]
    with pytest.raises(ValidationError, match="at most 14"):
        gen.use_as_reference(kept, ["r1.jpg"], 0, url_count=0)


# ---- hints -------------------------------------------------------------------------------------------


def test_prompt_hint_counts_words_and_chinese_characters() -> None:
    assert gen.prompt_hint("") == "0 / 600 words · 0 / 300 Chinese characters · within the recommended length"
    assert gen.prompt_hint("红色的狐狸 in snow").startswith("2 / 600 words · 5 / 300 Chinese characters")
    assert "⚠ longer than Seedream recommends" in gen.prompt_hint("狐" * 301)


def test_size_hint_says_plainly_whether_the_api_takes_the_size() -> None:
    assert gen.size_hint("2048x2048").startswith("✓ 2048x2048 · 4.19 MP · ratio 1:1")
    assert gen.size_hint("100x2048").startswith("⚠ Size 100x2048 has 204,800 pixels")
    assert gen.size_hint("   ") == "⚠ Enter a size: 2K, 4K or width x height."
    assert gen.size_hint("big").startswith("⚠ Size 'big' is not understood")


@pytest.mark.parametrize(
    ("preset", "width", "height", "expected"),
    [
        ("2560x1440", 100, 100, "2560x1440"),  # a preset ignores the custom boxes
        ("4K", None, None, "4K"),
        ("custom", 1920.0, 2400.0, "1920x2400"),
        ("custom", None, 2400, ""),  # an emptied box: the size hint then asks for a size
    ],
)
def test_size_from_inputs(preset: str, width: float | None, height: float | None, expected: str) -> None:
    assert gen.size_from_inputs(preset, width, height) == expected


def test_custom_dimensions_of_a_typed_size() -> None:
    assert gen.custom_dimensions("2560 x 1440") == (2560, 1440)
    assert gen.custom_dimensions("banana") is None


def test_reference_counts_and_the_max_images_limit() -> None:
    assert gen.references_label(3) == "Reference images (3 / 14)"
    assert gen.count_urls("https://a.example/1.png\n\n  \nhttps://b.example/2.png\n") == 2
    assert gen.max_images_limit(0) == 15
    assert gen.max_images_limit(5) == 10
    assert gen.max_images_limit(14) == 1
    assert gen.max_images_limit(20) == 1  # never an empty slider, even with too many references


def test_history_keeps_the_newest_generations_first_up_to_the_limit(tmp_path: Path) -> None:
    def made(n: int) -> gen.Generation:
        return gen.Generation(datetime(2026, 1, 1, 12, 0, n % 60), f"prompt {n}", SMALL, (tmp_path / f"{n}.jpg",),
                              "✓")  # fmt: skip

    history: list[gen.Generation] = []
    for n in range(gen.HISTORY_LIMIT + 3):
        history = gen.add_to_history(history, made(n))
    assert len(history) == gen.HISTORY_LIMIT
    assert history[0].prompt == f"prompt {gen.HISTORY_LIMIT + 2}"
    assert history[-1].prompt == "prompt 3"
    assert history[0].caption == "12:00:22 · 1 image(s) · prompt 22"


@pytest.mark.parametrize(
    ("references", "current", "expected"),
    [
        pytest.param(0, 4, (15, 4), id="no references: the choice stays"),
        pytest.param(12, 4, (3, 3), id="12 references: lowered to the 3 still allowed"),
        pytest.param(14, 4, (1, 1), id="14 references: one image"),
        pytest.param(2, None, (13, 1), id="no choice yet: 1"),
    ],
)
def test_max_images_choice_follows_the_reference_count(
    references: int, current: float | None, expected: tuple[int, int]
) -> None:
    assert gen.max_images_choice(references, current) == expected
