"""Output sizes: what people type, the API's limits at their exact edges, presets, and suggestions."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seedream_ui.errors import ValidationError
from seedream_ui.sizes import (
    DEFAULT_SIZE,
    MAX_PIXELS,
    MAX_RATIO,
    MIN_PIXELS,
    MIN_RATIO,
    describe_size,
    is_valid,
    parse_size,
    presets,
    size_problem,
    suggest_size,
    validate_size,
)

QUICK = settings(max_examples=150, deadline=None)


def sides(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def exact_rule(width: int, height: int) -> bool:
    """The reference page's rule, restated with exact integer arithmetic."""
    return (
        MIN_PIXELS <= width * height <= MAX_PIXELS
        and Fraction(1, 16) <= Fraction(width, height) <= Fraction(16)
    )


# --- parsing what people type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        pytest.param("2048x2048", "2048x2048", id="canonical"),
        pytest.param("2048 x 2048", "2048x2048", id="spaces-around-x"),
        pytest.param("2048X2048", "2048x2048", id="capital-X"),
        pytest.param("2048×2048", "2048x2048", id="multiplication-sign"),
        pytest.param("2048*2048", "2048x2048", id="asterisk"),
        pytest.param("  2560x1440\t", "2560x1440", id="surrounding-whitespace"),
        pytest.param("2560 ×\t1440", "2560x1440", id="mixed-whitespace"),
        pytest.param("02048x2048", "2048x2048", id="leading-zero"),
        pytest.param("2k", "2K", id="2k-lowercase"),
        pytest.param("4K", "4K", id="4K"),
        pytest.param(" 4k ", "4K", id="4k-padded"),
    ],
)
def test_parse_size_accepts_what_people_type_and_normalises(typed: str, canonical: str) -> None:
    assert parse_size(typed).text == canonical


def test_parse_size_gives_the_numbers_of_a_wxh_size() -> None:
    info = parse_size("2560 x 1440")
    assert (info.width, info.height, info.pixels) == (2560, 1440, 3_686_400)
    assert info.ratio == Fraction(16, 9)


@pytest.mark.parametrize(("keyword", "side"), [("2K", 2048), ("4K", 4096)])
def test_keywords_stand_for_a_square_of_their_resolution(keyword: str, side: int) -> None:
    info = parse_size(keyword.lower())
    assert (info.width, info.height) == (side, side)


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("big", id="word"),
        pytest.param("2048", id="one-number"),
        pytest.param("2048x", id="missing-height"),
        pytest.param("x2048", id="missing-width"),
        pytest.param("2048x2048x2048", id="three-numbers"),
        pytest.param("-2048x2048", id="negative-width"),
        pytest.param("2048x-2048", id="negative-height"),
        pytest.param("2048.5x2048", id="float-width"),
        pytest.param("2048x2048.0", id="float-height"),
        pytest.param("2048 by 2048", id="by"),
        pytest.param("2048,2048", id="comma"),
        pytest.param("3K", id="unknown-keyword"),
        pytest.param("2 K", id="split-keyword"),
        pytest.param("1234567x2", id="absurdly-long-number"),
    ],
)
def test_parse_size_rejects_garbage_with_an_example_of_what_works(typed: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_size(typed)
    assert caught.value.field == "size"
    assert "2048x2048" in caught.value.message


@pytest.mark.parametrize("typed", ["0x2048", "2048x0", "0x0", "000x2048"])
def test_parse_size_rejects_a_zero_side_and_says_so(typed: str) -> None:
    with pytest.raises(ValidationError, match="zero side"):
        parse_size(typed)


@pytest.mark.parametrize("value", [2048, None, b"2048x2048", (2048, 2048)], ids=["int", "None", "bytes", "tuple"])
def test_parse_size_refuses_anything_but_text(value: object) -> None:
    with pytest.raises(ValidationError, match="must be text"):
        parse_size(value)  # type: ignore[arg-type]


# --- the limits, at both edges -----------------------------------------------------------------------

VALID_EDGES = [
    pytest.param("1920x1920", id="exactly-minimum-pixels-3686400"),
    pytest.param("2560x1440", id="minimum-pixels-16:9"),
    pytest.param("4096x4096", id="exactly-maximum-pixels-16777216"),
    pytest.param("4095x4097", id="just-under-maximum-pixels"),
    pytest.param("7680x480", id="ratio-exactly-16:1-at-minimum-pixels"),
    pytest.param("480x7680", id="ratio-exactly-1:16-at-minimum-pixels"),
    pytest.param("16384x1024", id="ratio-16:1-at-maximum-pixels"),
    pytest.param("1024x16384", id="ratio-1:16-at-maximum-pixels"),
    pytest.param("7680x481", id="ratio-just-under-16:1"),
    pytest.param("481x7680", id="ratio-just-over-1:16"),
    pytest.param("2K", id="keyword-2K"),
    pytest.param("4K", id="keyword-4K"),
]


@pytest.mark.parametrize("size", VALID_EDGES)
def test_sizes_on_the_edges_of_the_limits_are_accepted(size: str) -> None:
    assert validate_size(size) == size
    assert size_problem(parse_size(size)) is None


INVALID_EDGES = [
    # (size, words the message must contain)
    pytest.param("1919x1921", ["3,686,399 pixels", "at least 3,686,400"], id="3686399-pixels-one-short"),
    pytest.param("1920x1919", ["3,684,480 pixels", "at least 3,686,400"], id="one-row-short"),
    pytest.param("7680x479", ["3,678,720 pixels", "at least 3,686,400"], id="16:1-corner-one-row-short"),
    pytest.param("4096x4097", ["16,781,312 pixels", "at most 16,777,216"], id="one-row-too-many"),
    pytest.param("10831x1549", ["16,777,219 pixels", "at most 16,777,216"], id="smallest-legal-shape-over-max"),
    pytest.param("16385x1024", ["16,778,240 pixels", "at most 16,777,216"], id="16:1-corner-one-column-too-many"),
    pytest.param("7681x480", ["aspect ratio", "1:16 to 16:1"], id="ratio-just-over-16:1"),
    pytest.param("480x7681", ["aspect ratio", "1:16 to 16:1"], id="ratio-just-under-1:16"),
    pytest.param("16384x1023", ["aspect ratio", "1:16 to 16:1"], id="ratio-over-16:1-at-max-pixels"),
    pytest.param("1x1", ["1 pixels", "at least 3,686,400"], id="tiny"),
    pytest.param("999999x999999", ["at most 16,777,216"], id="huge"),
]


@pytest.mark.parametrize(("size", "phrases"), INVALID_EDGES)
def test_sizes_just_outside_the_limits_are_refused_with_an_actionable_message(size: str, phrases: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_size(size)
    message = caught.value.message
    assert caught.value.field == "size"
    assert size in message
    for phrase in phrases:
        assert phrase in message
    # The message offers a concrete size that would be accepted.
    suggested = re.search(r"for example (\d+x\d+)", message)
    assert suggested is not None, message
    assert validate_size(suggested.group(1)) == suggested.group(1)


def test_ratio_message_shows_the_offending_ratio() -> None:
    with pytest.raises(ValidationError, match=r"16\.002:1"):
        validate_size("7681x480")


def test_validate_size_returns_the_canonical_form() -> None:
    assert validate_size(" 2560 X 1440 ") == "2560x1440"
    assert validate_size("4k") == "4K"


@st.composite
def width_height(draw: st.DrawFn) -> tuple[int, int]:
    """Sides spread over the interesting region: around the pixel limits and the 16:1 ratio edges."""
    kind = draw(st.sampled_from(["any", "near-square", "near-16:1", "near-1:16"]))
    if kind == "any":
        return draw(st.integers(1, 20_000)), draw(st.integers(1, 20_000))
    if kind == "near-square":
        side = draw(st.integers(1850, 4150))
        return side, side + draw(st.integers(-40, 40))
    short = draw(st.integers(440, 1060))
    long = 16 * short + draw(st.integers(-3, 3))
    return (long, short) if kind == "near-16:1" else (short, long)


@QUICK
@given(width_height())
@example((7680, 480))
@example((7681, 480))
@example((1919, 1921))
@example((16384, 1024))
def test_validate_size_accepts_exactly_the_sizes_the_reference_page_allows(wh: tuple[int, int]) -> None:
    width, height = wh
    text = f"{width}x{height}"
    if exact_rule(width, height):
        assert validate_size(text) == text
    else:
        with pytest.raises(ValidationError):
            validate_size(text)


SEPARATORS = st.sampled_from(["x", "X", "×", "*"])
SPACES = st.sampled_from(["", " ", "  ", "\t"])


@QUICK
@given(st.integers(1, 99_999), st.integers(1, 99_999), SEPARATORS, SPACES, SPACES, SPACES, SPACES)
def test_formatting_variations_parse_to_the_same_size(
    width: int, height: int, sep: str, lead: str, before: str, after: str, trail: str
) -> None:
    typed = f"{lead}{width}{before}{sep}{after}{height}{trail}"
    info = parse_size(typed)
    assert info == parse_size(f"{width}x{height}")
    assert info.text == f"{width}x{height}"


# --- suggestions --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["2048x2048", "7680x480", "1920x1920", "4095x4097", "3001x1999"])
def test_suggest_size_returns_a_valid_input_unchanged(size: str) -> None:
    assert suggest_size(*sides(size)) == size


@pytest.mark.parametrize(
    ("width", "height", "expected_ratio"),
    [
        pytest.param(100_000, 10, MAX_RATIO, id="far-too-wide-clamps-to-16:1"),
        pytest.param(10, 100_000, MIN_RATIO, id="far-too-tall-clamps-to-1:16"),
        pytest.param(7681, 480, MAX_RATIO, id="just-too-wide"),
    ],
)
def test_suggest_size_clamps_an_illegal_ratio_to_the_nearest_end(width: int, height: int, expected_ratio: Fraction) -> None:
    suggestion = suggest_size(width, height)
    assert is_valid(*sides(suggestion))
    assert abs(Fraction(*sides(suggestion)) / expected_ratio - 1) <= Fraction(2, 100)


@pytest.mark.parametrize(("width", "height"), [(0, 100), (100, 0), (-5, 5)])
def test_suggest_size_falls_back_to_the_default_for_non_positive_sides(width: int, height: int) -> None:
    assert suggest_size(width, height) == DEFAULT_SIZE


@QUICK
@given(
    st.one_of(width_height(), st.tuples(st.integers(1, 10**7), st.integers(1, 10**7)), st.tuples(st.integers(1, 64), st.integers(1, 64)))
)
@example((1, 1))
@example((1, 10**7))
@example((480, 7679))
@example((4097, 4097))
def test_suggest_size_always_returns_a_valid_size(wh: tuple[int, int]) -> None:
    width, height = wh
    suggestion = suggest_size(width, height)
    assert re.fullmatch(r"\d+x\d+", suggestion)
    new_width, new_height = sides(suggestion)
    assert exact_rule(new_width, new_height)
    assert validate_size(suggestion) == suggestion
    if exact_rule(width, height):
        assert suggestion == f"{width}x{height}"


@QUICK
@given(width_height())
@example((480, 7679))  # near 1:16 and short on pixels: the worst case for rounding to multiples of 8
@example((1294, 81))
def test_suggest_size_keeps_a_legal_aspect_ratio(wh: tuple[int, int]) -> None:
    width, height = wh
    ratio = Fraction(width, height)
    if not MIN_RATIO <= ratio <= MAX_RATIO:
        return
    new_ratio = Fraction(*sides(suggest_size(width, height)))
    # Sides are rounded to multiples of 8; on a 480-pixel side that moves the ratio by at most 8/480 (< 2%).
    assert abs(new_ratio / ratio - 1) <= Fraction(2, 100)


# --- presets and descriptions -------------------------------------------------------------------------


def test_every_preset_is_valid() -> None:
    for preset in presets():
        assert validate_size(preset.size) == preset.size, preset.label


def test_presets_are_unique_by_size_and_by_label() -> None:
    items = presets()
    assert len({p.size for p in items}) == len(items)
    assert len({p.label for p in items}) == len(items)


def test_presets_start_with_the_keywords_and_labels_show_the_size() -> None:
    items = presets()
    assert [p.size for p in items[:2]] == ["2K", "4K"]
    for preset in items[2:]:
        assert f"({preset.size})" in preset.label


def test_the_default_size_is_valid() -> None:
    assert validate_size(DEFAULT_SIZE) == DEFAULT_SIZE


@pytest.mark.parametrize(
    ("size", "phrases"),
    [
        pytest.param("2048x2048", ["✓", "2048x2048", "4.19 MP", "1:1", "within the API's limits"], id="valid-square"),
        pytest.param("7680x480", ["✓", "16:1"], id="valid-16:1"),
        pytest.param("2560 x 1440", ["✓", "2560x1440", "16:9"], id="valid-typed-loosely"),
        pytest.param("2k", ["2K", "model picks"], id="keyword"),
        pytest.param("1000x1000", ["⚠", "1,000,000 pixels", "at least 3,686,400"], id="too-small"),
        pytest.param("5000x5000", ["⚠", "25,000,000 pixels", "at most 16,777,216"], id="too-large"),
        pytest.param("7681x480", ["⚠", "aspect ratio", "1:16 to 16:1"], id="too-wide"),
        pytest.param("banana", ["⚠", "not understood"], id="garbage"),
    ],
)
def test_describe_size_says_plainly_whether_the_api_will_take_it(size: str, phrases: list[str]) -> None:
    line = describe_size(size)
    for phrase in phrases:
        assert phrase in line
    assert "\n" not in line
    if "⚠" in phrases:
        assert "✓" not in line and "within the API's limits" not in line
