"""The typed request: every rule of the reference page is checked before anything is sent."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedream_ui.errors import ValidationError
from seedream_ui.request import (
    MAX_REFERENCES,
    MAX_TOTAL_IMAGES,
    RECOMMENDED_MAX_CJK,
    RECOMMENDED_MAX_WORDS,
    GenerateRequest,
    clean_prompt,
    prompt_length_warning,
    prompt_stats,
)
from tests.images import b64, image_bytes

QUICK = settings(max_examples=100, deadline=None)

# The top-level fields of the reference page's request body.
REFERENCE_BODY_FIELDS = {
    "size",
    "image",
    "prompt",
    "watermark",
    "optimize_prompt_options",
    "sequential_image_generation",
    "sequential_image_generation_options",
}


PNG_B64 = b64(image_bytes("PNG", (2, 2)))
PNG_URI = f"data:image/png;base64,{PNG_B64}"
URL = "https://example.com/reference.png"


def refs(count: int) -> tuple[str, ...]:
    return tuple(f"https://example.com/ref-{i}.png" for i in range(count))


def fails(request: GenerateRequest) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        request.validated()
    return caught.value


# --- the JSON body ------------------------------------------------------------------------------------

PAYLOADS = [
    pytest.param(
        GenerateRequest(prompt="a red fox"),
        {"prompt": "a red fox", "size": "2048x2048", "watermark": True, "sequential_image_generation": "disabled"},
        id="defaults-only",
    ),
    pytest.param(
        GenerateRequest(prompt="a red fox", size="4K", watermark=False),
        {"prompt": "a red fox", "size": "4K", "watermark": False, "sequential_image_generation": "disabled"},
        id="size-and-no-watermark",
    ),
    pytest.param(
        GenerateRequest(prompt="the fox, in snow", images=(URL, PNG_URI)),
        {
            "prompt": "the fox, in snow",
            "size": "2048x2048",
            "image": [URL, PNG_URI],
            "watermark": True,
            "sequential_image_generation": "disabled",
        },
        id="with-references",
    ),
    pytest.param(
        GenerateRequest(prompt="a red fox", optimize_prompt_mode="fast"),
        {
            "prompt": "a red fox",
            "size": "2048x2048",
            "watermark": True,
            "optimize_prompt_options": {"mode": "fast"},
            "sequential_image_generation": "disabled",
        },
        id="optimize-fast",
    ),
    pytest.param(
        GenerateRequest(prompt="four seasons", sequential_image_generation="auto", max_images=4),
        {
            "prompt": "four seasons",
            "size": "2048x2048",
            "watermark": True,
            "sequential_image_generation": "auto",
            "sequential_image_generation_options": {"max_images": 4},
        },
        id="sequence-with-max-images",
    ),
    pytest.param(
        GenerateRequest(prompt="four seasons", sequential_image_generation="auto"),
        {"prompt": "four seasons", "size": "2048x2048", "watermark": True, "sequential_image_generation": "auto"},
        id="sequence-without-max-images",
    ),
    pytest.param(
        GenerateRequest(
            prompt="comic strip",
            size="2560x1440",
            images=(URL,),
            watermark=False,
            optimize_prompt_mode="standard",
            sequential_image_generation="auto",
            max_images=3,
        ),
        {
            "prompt": "comic strip",
            "size": "2560x1440",
            "image": [URL],
            "watermark": False,
            "optimize_prompt_options": {"mode": "standard"},
            "sequential_image_generation": "auto",
            "sequential_image_generation_options": {"max_images": 3},
        },
        id="everything-set",
    ),
]


@pytest.mark.parametrize(("request_", "body"), PAYLOADS)
def test_to_payload_is_exactly_the_reference_body_with_only_the_fields_set(
    request_: GenerateRequest, body: dict[str, Any]
) -> None:
    payload = request_.validated().to_payload()
    assert payload == body
    assert set(payload) <= REFERENCE_BODY_FIELDS
    assert json.loads(json.dumps(payload)) == body  # plain JSON, nothing a serialiser would choke on


def test_no_image_field_is_sent_without_references() -> None:
    assert "image" not in GenerateRequest(prompt="x", images=()).validated().to_payload()


def test_sequence_options_are_never_sent_when_sequences_are_disabled() -> None:
    # Even an unvalidated request with a stray max_images must not send options that only apply to auto.
    payload = GenerateRequest(prompt="x", max_images=3).to_payload()
    assert "sequential_image_generation_options" not in payload


def test_the_image_field_is_a_json_array_in_the_given_order() -> None:
    images = refs(3)
    assert GenerateRequest(prompt="x", images=images).validated().to_payload()["image"] == list(images)


# --- prompt -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "cleaned"),
    [
        pytest.param("  a cat  ", "a cat", id="surrounding-spaces"),
        pytest.param("a\x00 cat\x07", "a cat", id="nul-and-bell-dropped"),
        pytest.param("\x1b[31ma cat\x1b[0m", "[31ma cat[0m", id="escape-dropped"),
        pytest.param("a\x7fcat", "acat", id="delete-dropped"),
        pytest.param("line one\nline two\tand a tab", "line one\nline two\tand a tab", id="newline-and-tab-kept"),
        pytest.param("一只猫在雪地里", "一只猫在雪地里", id="chinese"),
        pytest.param("قطة في الثلج", "قطة في الثلج", id="arabic-rtl"),
        pytest.param("\u200fשלום\u200f", "\u200fשלום\u200f", id="hebrew-with-rtl-marks-kept"),
        pytest.param("a cat 🐱 in snow ❄️", "a cat 🐱 in snow ❄️", id="emoji"),
        pytest.param("\u00a0a cat\u00a0", "a cat", id="non-breaking-spaces-trimmed"),
    ],
)
def test_the_prompt_is_cleaned_of_control_characters_and_surrounding_space(prompt: str, cleaned: str) -> None:
    assert GenerateRequest(prompt=prompt).validated().prompt == cleaned
    assert clean_prompt(prompt) == cleaned


@pytest.mark.parametrize(
    "prompt",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("\n\t \n", id="whitespace"),
        pytest.param("\x00\x01\x1b", id="only-control-characters"),
    ],
)
def test_a_blank_prompt_is_refused_with_a_hint(prompt: str) -> None:
    error = fails(GenerateRequest(prompt=prompt))
    assert error.field == "prompt"
    assert "Write a prompt" in error.message


@pytest.mark.parametrize("prompt", [None, 42, b"a cat", ["a cat"]], ids=["None", "int", "bytes", "list"])
def test_a_prompt_that_is_not_text_is_refused(prompt: object) -> None:
    error = fails(GenerateRequest(prompt=prompt))  # type: ignore[arg-type]
    assert error.field == "prompt"
    assert "must be text" in error.message


def test_the_prompt_is_a_required_argument() -> None:
    with pytest.raises(TypeError):
        GenerateRequest()  # type: ignore[call-arg]


def test_the_first_broken_rule_is_reported_first() -> None:
    error = fails(GenerateRequest(prompt=" ", size="1x1", images=refs(20), watermark="yes"))  # type: ignore[arg-type]
    assert error.field == "prompt"


# --- long-prompt warning ------------------------------------------------------------------------------


def words(count: int, word: str = "fox") -> str:
    return " ".join([word] * count)


LONG_PROMPTS = [
    # (prompt, warns)
    pytest.param(words(RECOMMENDED_MAX_WORDS), False, id="600-english-words"),
    pytest.param(words(RECOMMENDED_MAX_WORDS + 1), True, id="601-english-words"),
    pytest.param("猫" * RECOMMENDED_MAX_CJK, False, id="300-chinese-characters"),
    pytest.param("猫" * (RECOMMENDED_MAX_CJK + 1), True, id="301-chinese-characters"),
    pytest.param("猫" * 300 + " " + words(600), False, id="mixed-both-at-their-limit"),
    pytest.param("猫" * 301 + " " + words(10), True, id="mixed-chinese-over"),
    pytest.param("猫" * 10 + words(601), True, id="mixed-english-over"),
    pytest.param("猫，" * 300, False, id="300-chinese-with-full-width-commas"),
    pytest.param(words(600, "🦊"), False, id="600-emoji-words"),
    pytest.param(words(601, "🦊"), True, id="601-emoji-words"),
    pytest.param(words(600, "ثعلب"), False, id="600-arabic-words"),
    pytest.param(words(601, "ثعلب"), True, id="601-arabic-words"),
    pytest.param("\n".join([words(100)] * 6), False, id="600-words-across-lines"),
    pytest.param("\n".join([words(100)] * 6) + "\tend", True, id="601-words-across-lines"),
    pytest.param("a red fox", False, id="short"),
]


@pytest.mark.parametrize(("prompt", "warns"), LONG_PROMPTS)
def test_a_long_prompt_warns_only_past_the_recommended_length(prompt: str, warns: bool) -> None:
    request = GenerateRequest(prompt=prompt).validated()  # a long prompt is a warning, never an error
    assert bool(request.warnings()) is warns
    assert (prompt_length_warning(prompt) is not None) is warns


def test_the_warning_says_how_long_the_prompt_is_and_what_is_recommended() -> None:
    (note,) = GenerateRequest(prompt=words(1200)).warnings()
    assert "1,200 words" in note
    assert "600 English words" in note and "300 Chinese characters" in note


@pytest.mark.parametrize(
    ("prompt", "stats"),
    [
        pytest.param("a red fox", (3, 0), id="english"),
        pytest.param("一只红狐狸", (0, 5), id="chinese"),
        pytest.param("一只fox在雪地", (1, 5), id="chinese-around-an-english-word"),
        pytest.param("🦊 🦊🦊", (2, 0), id="emoji"),
        pytest.param("", (0, 0), id="empty"),
    ],
)
def test_prompt_stats_count_words_and_chinese_characters_separately(prompt: str, stats: tuple[int, int]) -> None:
    assert prompt_stats(prompt) == stats


# --- reference images ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 2, MAX_REFERENCES - 1, MAX_REFERENCES])
def test_up_to_fourteen_references_are_accepted(count: int) -> None:
    assert GenerateRequest(prompt="x", images=refs(count)).validated().images == refs(count)


@pytest.mark.parametrize(("count", "remove"), [(15, 1), (16, 2), (30, 16)])
def test_more_than_fourteen_references_are_refused_saying_how_many_to_remove(count: int, remove: int) -> None:
    error = fails(GenerateRequest(prompt="x", images=refs(count)))
    assert error.field == "image"
    assert f"{count} reference images" in error.message
    assert "at most 14" in error.message
    assert f"Remove {remove}." in error.message


def test_no_references_may_be_given_as_none_or_a_list() -> None:
    assert GenerateRequest(prompt="x", images=None).validated().images == ()  # type: ignore[arg-type]
    assert GenerateRequest(prompt="x", images=[URL]).validated().images == (URL,)  # type: ignore[arg-type]


def test_no_references_given_as_none_still_counts_towards_max_images() -> None:
    request = GenerateRequest(prompt="x", images=None, sequential_image_generation="auto", max_images=15)  # type: ignore[arg-type]
    assert request.validated().max_images == 15


@pytest.mark.parametrize("images", [URL, 42, {"url": URL}], ids=["single-string", "int", "dict"])
def test_references_must_be_a_list(images: object) -> None:
    error = fails(GenerateRequest(prompt="x", images=images))  # type: ignore[arg-type]
    assert error.field == "image"
    assert "must be a list" in error.message


VALID_REFERENCES = [
    pytest.param(URL, id="https-url"),
    pytest.param("http://127.0.0.1:8000/ref.jpg", id="http-url"),
    pytest.param(PNG_URI, id="png-data-uri"),
    pytest.param(PNG_B64, id="bare-png-base64"),
    pytest.param(f"data:image/jpeg;base64,{PNG_B64}", id="png-bytes-labelled-jpeg"),
    pytest.param(f"data:application/octet-stream;base64,{PNG_B64}", id="png-bytes-labelled-octet-stream"),
    pytest.param(f"data:;base64,{PNG_B64}", id="png-bytes-unlabelled"),
    *(
        pytest.param(f"data:image/{fmt.lower()};base64,{b64(image_bytes(fmt, (2, 2)))}", id=f"{fmt.lower()}-data-uri")
        for fmt in ("JPEG", "WEBP", "BMP", "TIFF", "GIF")
    ),
]


@pytest.mark.parametrize("image", VALID_REFERENCES)
def test_a_reference_is_a_url_or_base64_of_an_allowed_format_judged_by_content(image: str) -> None:
    sent = GenerateRequest(prompt="x", images=(image,)).validated().images
    if image.startswith(("data:application/", "data:;")):
        # Labelled by its content: the API reads only data:image/<format>;base64,...
        assert sent == (f"data:image/png;base64,{PNG_B64}",)
    else:
        assert sent == (image,)


def test_a_reference_is_trimmed_of_surrounding_whitespace() -> None:
    assert GenerateRequest(prompt="x", images=(f"  {URL}\n",)).validated().images == (URL,)


INVALID_REFERENCES = [
    pytest.param(f"data:text/plain;base64,{b64(b'shopping list: eggs, milk')}", id="text-file-data-uri"),
    pytest.param(b64(b"shopping list: eggs, milk"), id="text-file-bare-base64"),
    pytest.param(f"data:image/png;base64,{b64(b'not really a png')}", id="text-labelled-png"),
    pytest.param(f"data:image/svg+xml;base64,{b64(b'<svg xmlns=1/>')}", id="svg-data-uri"),
    pytest.param("data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'/>", id="svg-plain-data-uri"),
    pytest.param(f"data:application/pdf;base64,{b64(b'%PDF-1.7')}", id="pdf"),
    pytest.param(f"data:image/heic;base64,{b64(bytes(4) + b'ftypheic' + bytes(8))}", id="heic"),
    pytest.param("ftp://example.com/ref.png", id="ftp-url"),
    pytest.param("C:\\Users\\me\\cat.png", id="file-path"),
    pytest.param("data:image/png;base64,!!!!", id="garbage-base64"),
    pytest.param("data:image/png;base64,", id="empty-payload"),
]


@pytest.mark.parametrize("image", INVALID_REFERENCES)
def test_a_reference_that_is_not_an_allowed_image_is_refused_naming_its_position(image: str) -> None:
    error = fails(GenerateRequest(prompt="x", images=(URL, image)))
    assert error.field == "image"
    assert "Reference image 2" in error.message
    assert "jpeg, png, webp, bmp, tiff, gif" in error.message


@pytest.mark.parametrize("image", ["", "   ", None, 7], ids=["empty", "blank", "None", "int"])
def test_an_empty_reference_is_refused_naming_its_position(image: object) -> None:
    error = fails(GenerateRequest(prompt="x", images=(URL, URL, image)))  # type: ignore[arg-type]
    assert error.field == "image"
    assert "Reference image 3 is empty" in error.message


# --- max_images and sequences -------------------------------------------------------------------------

TOTAL_LIMIT = [
    # (references, max_images, accepted)
    pytest.param(0, 15, True, id="0-refs-plus-15"),
    pytest.param(0, 16, False, id="0-refs-plus-16"),
    pytest.param(3, 12, True, id="3-refs-plus-12"),
    pytest.param(3, 13, False, id="3-refs-plus-13"),
    pytest.param(14, 1, True, id="14-refs-plus-1"),
    pytest.param(14, 2, False, id="14-refs-plus-2"),
    pytest.param(1, 1, True, id="1-ref-plus-1"),
]


@pytest.mark.parametrize(("references", "max_images", "accepted"), TOTAL_LIMIT)
def test_references_plus_max_images_may_not_exceed_fifteen(references: int, max_images: int, accepted: bool) -> None:
    request = GenerateRequest(prompt="x", images=refs(references), sequential_image_generation="auto", max_images=max_images)
    if accepted:
        assert request.validated().max_images == max_images
        return
    error = fails(request)
    assert error.field == "max_images"
    assert f"use at most {MAX_TOTAL_IMAGES - references}" in error.message
    assert f"{references} reference image" in error.message


@pytest.mark.parametrize(
    "value",
    [0, -1, True, False, 2.5, float("nan"), float("inf"), "3", [3]],
    ids=["zero", "negative", "True", "False", "fraction", "nan", "inf", "text", "list"],
)
def test_max_images_must_be_a_whole_number_of_at_least_one(value: object) -> None:
    error = fails(GenerateRequest(prompt="x", sequential_image_generation="auto", max_images=value))  # type: ignore[arg-type]
    assert error.field == "max_images"
    assert "whole number of at least 1" in error.message


def test_a_whole_float_max_images_is_normalised_to_an_int() -> None:
    validated = GenerateRequest(prompt="x", sequential_image_generation="auto", max_images=4.0).validated()  # type: ignore[arg-type]
    assert validated.max_images == 4 and type(validated.max_images) is int
    assert json.dumps(validated.to_payload()["sequential_image_generation_options"]) == '{"max_images": 4}'


def test_max_images_is_refused_unless_sequences_are_auto() -> None:
    error = fails(GenerateRequest(prompt="x", sequential_image_generation="disabled", max_images=3))
    assert error.field == "max_images"
    assert "'auto'" in error.message


@pytest.mark.parametrize("mode", ["auto", "disabled"])
def test_sequential_generation_accepts_auto_and_disabled(mode: str) -> None:
    assert GenerateRequest(prompt="x", sequential_image_generation=mode).validated().sequential_image_generation == mode  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["Auto", "enabled", "", None, True], ids=["Auto", "enabled", "empty", "None", "True"])
def test_sequential_generation_refuses_other_values(mode: object) -> None:
    error = fails(GenerateRequest(prompt="x", sequential_image_generation=mode))  # type: ignore[arg-type]
    assert error.field == "sequential_image_generation"
    assert "'auto' or 'disabled'" in error.message


@pytest.mark.parametrize(("mode", "normalised"), [(None, None), ("", None), ("standard", "standard"), ("fast", "fast")])
def test_prompt_optimisation_accepts_standard_fast_or_nothing(mode: str | None, normalised: str | None) -> None:
    assert GenerateRequest(prompt="x", optimize_prompt_mode=mode).validated().optimize_prompt_mode == normalised  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["Standard", "slow", 1, True], ids=["Standard", "slow", "int", "bool"])
def test_prompt_optimisation_refuses_other_modes(mode: object) -> None:
    error = fails(GenerateRequest(prompt="x", optimize_prompt_mode=mode))  # type: ignore[arg-type]
    assert error.field == "optimize_prompt_options"
    assert "standard, fast" in error.message


def test_an_empty_optimisation_mode_sends_no_options() -> None:
    assert "optimize_prompt_options" not in GenerateRequest(prompt="x", optimize_prompt_mode="").validated().to_payload()  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, False])
def test_watermark_accepts_a_bool(value: bool) -> None:
    assert GenerateRequest(prompt="x", watermark=value).validated().to_payload()["watermark"] is value


@pytest.mark.parametrize("value", [1, 0, "true", "false", None], ids=["1", "0", "text-true", "text-false", "None"])
def test_watermark_must_be_a_bool(value: object) -> None:
    error = fails(GenerateRequest(prompt="x", watermark=value))  # type: ignore[arg-type]
    assert error.field == "watermark"
    assert "true or false" in error.message


@pytest.mark.parametrize(("size", "canonical"), [(" 2560 X 1440 ", "2560x1440"), ("2k", "2K"), ("4096×4096", "4096x4096")])
def test_the_size_is_normalised(size: str, canonical: str) -> None:
    assert GenerateRequest(prompt="x", size=size).validated().to_payload()["size"] == canonical


def test_an_invalid_size_is_refused_with_the_size_rule() -> None:
    error = fails(GenerateRequest(prompt="x", size="1919x1921"))
    assert error.field == "size"
    assert "3,686,399 pixels" in error.message


# --- expected images ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        pytest.param(GenerateRequest(prompt="x"), 1, id="single-image"),
        pytest.param(GenerateRequest(prompt="x", images=refs(5)), 1, id="single-image-with-references"),
        pytest.param(GenerateRequest(prompt="x", sequential_image_generation="auto", max_images=4), 4, id="auto-with-max"),
        pytest.param(GenerateRequest(prompt="x", sequential_image_generation="auto"), 15, id="auto-no-max-no-refs"),
        pytest.param(GenerateRequest(prompt="x", images=refs(3), sequential_image_generation="auto"), 12, id="auto-no-max-3-refs"),
        pytest.param(GenerateRequest(prompt="x", images=refs(14), sequential_image_generation="auto"), 1, id="auto-no-max-14-refs"),
    ],
)
def test_expected_images_is_the_most_the_request_can_return(request_: GenerateRequest, expected: int) -> None:
    assert request_.validated().expected_images() == expected


# --- validated() --------------------------------------------------------------------------------------


def test_validated_returns_a_new_request_and_leaves_the_original_alone() -> None:
    original = GenerateRequest(prompt="  a fox  ", size="2k", images=[URL])  # type: ignore[arg-type]
    validated = original.validated()
    assert (original.prompt, original.size, original.images) == ("  a fox  ", "2k", [URL])
    assert (validated.prompt, validated.size, validated.images) == ("a fox", "2K", (URL,))


def test_the_repr_does_not_dump_megabytes_of_reference_images() -> None:
    request = GenerateRequest(prompt="x", images=(f"data:image/png;base64,{PNG_B64}" + "A" * 10_000,))
    assert "base64" not in repr(request)
    assert len(repr(request)) < 300


IMAGE_POOL = [URL, f"  {URL} ", PNG_URI, PNG_B64, f"data:image/jpeg;base64,{PNG_B64}"]
SIZE_POOL = ["2K", "4k", "2048x2048", " 2560 X 1440 ", "1440×2560", "7680x480", "4096*4096"]


@st.composite
def valid_requests(draw: st.DrawFn) -> GenerateRequest:
    images = draw(st.lists(st.sampled_from(IMAGE_POOL), max_size=MAX_REFERENCES))
    sequential = draw(st.sampled_from(["disabled", "auto"]))
    max_images: float | int | None = None
    if sequential == "auto":
        max_images = draw(st.none() | st.integers(1, MAX_TOTAL_IMAGES - len(images)))
        if max_images is not None and draw(st.booleans()):
            max_images = float(max_images)
    prompt = draw(st.text(min_size=1, max_size=80).filter(lambda text: clean_prompt(text) != ""))
    return GenerateRequest(
        prompt=prompt,
        size=draw(st.sampled_from(SIZE_POOL)),
        images=draw(st.sampled_from([tuple, list]))(images),
        watermark=draw(st.booleans()),
        optimize_prompt_mode=draw(st.sampled_from([None, "", "standard", "fast"])),
        sequential_image_generation=sequential,  # type: ignore[arg-type]
        max_images=max_images,  # type: ignore[arg-type]
    )


@QUICK
@given(valid_requests())
def test_validated_is_idempotent(request: GenerateRequest) -> None:
    once = request.validated()
    twice = once.validated()
    assert twice == once
    assert twice.to_payload() == once.to_payload()
    assert set(once.to_payload()) <= REFERENCE_BODY_FIELDS
    json.dumps(once.to_payload())
    # A sequence never promises more than the 15-image budget left after the references.
    if once.sequential_image_generation == "auto":
        assert 1 <= once.expected_images() <= MAX_TOTAL_IMAGES - len(once.images)
    else:
        assert once.expected_images() == 1


@QUICK
@given(valid_requests())
def test_validated_fields_have_the_types_the_api_expects(request: GenerateRequest) -> None:
    validated = request.validated()
    assert isinstance(validated.images, tuple)
    assert validated.max_images is None or type(validated.max_images) is int
    assert validated.prompt == validated.prompt.strip() and validated.prompt
    assert validated.size in {"2K", "4K"} or ("x" in validated.size and " " not in validated.size)


class TestBase64IsCheckedWhole:
    def test_a_reference_cut_short_after_a_valid_start_is_refused_before_sending(self) -> None:
        whole = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(300)).decode()
        with pytest.raises(ValidationError, match="not valid Base64"):
            GenerateRequest(prompt="p", images=(whole[:-5],)).validated()

    def test_a_prompt_of_only_zero_width_characters_is_blank(self) -> None:
        with pytest.raises(ValidationError, match="Write a prompt"):
            GenerateRequest(prompt="\u200b\u200d\u2060 ").validated()
