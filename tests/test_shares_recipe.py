"""The recipe format: request.json and "Copy recipe" JSON in, the same recipe out; hostile recipes refused."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedream_ui.errors import ValidationError
from seedream_ui.outputs import request_record, save_generation, zip_generation
from seedream_ui.shares import Recipe, UploadReference, UrlReference, parse_recipe, recipe_from_request
from tests.shares_support import results, sent_request

MADE = datetime(2026, 11, 29, 15, 30, 12, tzinfo=UTC)


def test_a_zips_request_json_gives_back_every_setting_and_the_references_in_order(tmp_path: Path) -> None:
    request = sent_request()
    names = ["https://example.com/ref.jpg", "cat.png"]
    # ImageLike declares writable attributes; a NamedTuple's are read-only, which save_generation never minds.
    saved = save_generation(tmp_path, results(1))  # type: ignore[arg-type]
    zip_path = zip_generation(saved.files, request_record(request, names))  # what the Download button builds
    with zipfile.ZipFile(zip_path) as archive:
        recipe = parse_recipe(archive.read("request.json"))

    assert recipe.prompt == request.prompt
    assert recipe.size == "2560x1440"
    assert recipe.references == (UrlReference("https://example.com/ref.jpg"), UploadReference("cat.png"))
    assert (recipe.watermark, recipe.optimize_prompt_mode) == (False, "fast")
    assert (recipe.sequential_image_generation, recipe.max_images) == ("auto", 3)
    assert recipe.url_lines() == "https://example.com/ref.jpg"


def test_a_recipe_survives_json_and_back_exactly() -> None:
    recipe = recipe_from_request(sent_request(), ["https://example.com/ref.jpg", "cat.png"], MADE)

    again = parse_recipe(recipe.to_json())

    assert again == recipe
    assert again.created == MADE
    assert parse_recipe(json.loads(recipe.to_json())) == recipe  # an already-parsed dict is accepted too


def test_a_recipe_written_as_request_json_reads_back_as_the_same_recipe() -> None:
    recipe = recipe_from_request(sent_request(), ["https://example.com/ref.jpg", "cat.png"], MADE)

    record = recipe.request_record()

    assert set(record) <= {"prompt", "size", "image", "watermark", "optimize_prompt_options",
                           "sequential_image_generation", "sequential_image_generation_options"}
    assert parse_recipe(json.dumps(record)) == Recipe(**{**vars(recipe), "created": None})


def test_the_request_json_of_the_page_and_of_a_recipe_agree() -> None:
    request = sent_request()
    recipe = recipe_from_request(request, ["https://example.com/ref.jpg", "cat.png"], MADE)

    page_record = request_record(request, ["https://example.com/ref.jpg", "cat.png"])

    assert {k: v for k, v in recipe.request_record().items() if k != "image"} == {
        k: v for k, v in page_record.items() if k != "image"
    }
    assert parse_recipe(page_record).references == recipe.references


@settings(max_examples=40, deadline=None)
@given(
    prompt=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200).filter(
        lambda s: s.strip()
    ),
    size=st.sampled_from(["2K", "4K", "2048x2048", "3840x2160", "1920x1920"]),
    watermark=st.booleans(),
    mode=st.sampled_from([None, "standard", "fast"]),
    max_images=st.one_of(st.none(), st.integers(1, 13)),
)
def test_any_valid_recipe_round_trips(prompt: str, size: str, watermark: bool, mode: str | None,
                                      max_images: int | None) -> None:
    try:
        recipe = parse_recipe({
            "kind": "seedream-recipe", "version": 1, "prompt": prompt, "size": size, "watermark": watermark,
            "optimize_prompt_mode": mode, "sequential_image_generation": "auto" if max_images else "disabled",
            "max_images": max_images, "references": [{"url": "https://example.com/a.png"}, {"upload": "b.png"}],
        })
    except ValidationError as exc:  # only prompts that are blank to the model (e.g. format characters alone)
        assert "prompt" in exc.message.lower()
        return
    assert parse_recipe(recipe.to_json()) == recipe
    assert parse_recipe(recipe.request_record()) == recipe


def test_upload_names_are_only_names() -> None:
    recipe = parse_recipe({"kind": "seedream-recipe", "version": 1, "prompt": "x",
                           "references": [{"upload": "../../etc/\u202epasswd\x00.png"}, {"upload": "C:\\Users\\me\\cat.png"}]})

    assert [r.name for r in recipe.uploads] == ["passwd.png", "cat.png"]


VALID = {"kind": "seedream-recipe", "version": 1, "prompt": "a fox"}
HOSTILE = [
    ("not json at all {", "not valid JSON"),
    ("[1, 2, 3]", "must be a JSON object"),
    ('{"prompt": NaN}', "not valid JSON"),
    ('{"prompt": "x", "max_images": ' + "9" * 5000 + "}", "not valid JSON"),
    ('{"prompt": "' + "x" * 300_000 + '"}', "a recipe is at most 256 KB"),
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    (b"\xff\xfe not utf-8 \x80", "not UTF-8"),
    ({"version": 2, "prompt": "x"}, "version 2 is not supported"),
    ({"version": True, "prompt": "x"}, "version True is not supported"),
    ({"kind": "something-else", "version": 1, "prompt": "x"}, "kind"),
    (VALID | {"api_key": "sk-123"}, "unknown field(s): api_key"),
    ({"prompt": "x", "api_key": "sk-123"}, "unknown field(s): api_key"),
    (VALID | {"visitor": "addr-1"}, "unknown field(s): visitor"),
    ({"title": "hello"}, "neither a Seedream recipe nor a request.json"),
    (VALID | {"prompt": 42}, '"prompt" must be text, not a number'),
    (VALID | {"prompt": "   \u200b "}, "Write a prompt first"),
    (VALID | {"prompt": "x" * 20_001}, "at most 20,000"),
    (VALID | {"size": "99999x2"}, "Size 99999x2 has 199,998 pixels"),
    (VALID | {"watermark": "yes"}, "watermark must be true or false"),
    (VALID | {"optimize_prompt_mode": "turbo"}, "'turbo' is not one of"),
    (VALID | {"max_images": 3}, "max_images only applies to image sequences"),
    (VALID | {"references": "https://example.com/a.png"}, '"references" must be a list'),
    (VALID | {"references": [{"url": "https://e.com/a.png"}] * 15}, "at most 14"),
    (VALID | {"references": [{"url": "javascript:alert(1)"}]}, "reference 1 is not an http(s) URL"),
    (VALID | {"references": [{"url": "https://e.com/a b.png"}]}, "reference 1 is not an http(s) URL"),
    (VALID | {"references": [{"url": "https://e.com/" + "a" * 3000}]}, "at most 2,048"),
    (VALID | {"references": [{"upload": "a.png", "file": "../../etc/passwd"}]}, "stored file that this demo never"),
    (VALID | {"references": [{"upload": "a.png", "path": "/etc/passwd"}]}, "exactly"),
    (VALID | {"references": ["https://e.com/a.png"]}, "must be an object"),
    (VALID | {"created": "yesterday"}, '"created" must be a date and time'),
    ({"prompt": "x", "image": ["data:image/png;base64,iVBORw0KGgo="]}, "inline image data"),
    ({"prompt": "x", "optimize_prompt_options": "fast"}, '"optimize_prompt_options" must be an object'),
]


@pytest.mark.parametrize(("source", "message"), HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_hostile_recipes_are_refused_with_a_message_saying_why(source: object, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_recipe(source)  # type: ignore[arg-type]

    assert refused.value.field == "recipe"
    assert str(refused.value).startswith("This recipe cannot be used: ")
    assert message in str(refused.value)
    assert len(str(refused.value)) < 300  # the message never echoes a huge input back


def test_a_recipe_never_holds_more_than_its_own_fields() -> None:
    recipe = parse_recipe({"prompt": "x", "size": "2K", "watermark": True, "sequential_image_generation": "disabled"})

    assert set(recipe.to_dict()) == {"kind", "version", "prompt", "size", "references", "watermark",
                                     "optimize_prompt_mode", "sequential_image_generation", "max_images", "created"}
