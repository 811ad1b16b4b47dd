"""Reference images: what the user gives (file, bytes, PIL image, URL) becomes what the API accepts.

Every input is generated here at run time with Pillow (or by hand for malformed files), in tmp_path.
"""

from __future__ import annotations

import base64
import resource
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from seedream_ui.errors import ReferenceImageError, ValidationError
from seedream_ui.references import (
    MAX_DECODE_PIXELS,
    MAX_REFERENCE_BYTES,
    MAX_REFERENCE_PIXELS,
    PreparedReference,
    parse_url_lines,
    prepare_reference,
    prepare_references,
)
from tests.images import (
    PILLOW_NAMES,
    area,
    encode,
    gif_claiming,
    gradient,
    jpeg_claiming,
    noise,
    opened,
    payload,
    pixel,
    png_bomb,
    with_orientation,
    write,
)

RED, GREEN, BLUE, CYAN = (220, 20, 20), (20, 200, 20), (20, 20, 220), (0, 255, 255)


# --------------------------------------------------------------------------------------------------------
# Helpers


def close(colour: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


# --------------------------------------------------------------------------------------------------------
# The fast path: files the API surely accepts are sent byte for byte


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [
        ("jpeg", "RGB"),
        ("jpeg", "L"),
        ("png", "RGB"),
        ("png", "RGBA"),
        ("png", "L"),
        ("png", "LA"),
        ("png", "P"),
        ("png", "1"),
        ("webp", "RGB"),
        ("webp", "RGBA"),
        ("bmp", "RGB"),
        ("tiff", "RGB"),
        ("gif", "P"),
    ],
)
def test_an_acceptable_file_is_sent_byte_for_byte(tmp_path: Path, fmt: str, mode: str) -> None:
    original = encode(gradient(64, 48).convert(mode), fmt)
    path = write(tmp_path, f"picture.{fmt}", original)

    prepared = prepare_reference(path)

    assert payload(prepared) == (f"image/{fmt}", original)
    assert prepared == PreparedReference(prepared.value, f"picture.{fmt}", fmt, 64, 48, reencoded=False)


def test_the_format_comes_from_the_content_not_the_file_name(tmp_path: Path) -> None:
    jpeg = encode(gradient(64, 48), "jpeg")
    prepared = prepare_reference(write(tmp_path, "actually-a-jpeg.png", jpeg))

    assert payload(prepared) == ("image/jpeg", jpeg)
    assert prepared.format == "jpeg"


def test_the_exif_orientation_1_alone_does_not_force_reencoding(tmp_path: Path) -> None:
    original = with_orientation(gradient(64, 48), 1)
    assert payload(prepare_reference(write(tmp_path, "upright.jpg", original)))[1] == original


def test_bytes_and_names(tmp_path: Path) -> None:
    png = encode(gradient(40, 30), "png")

    assert prepare_reference(png).name == "image"
    assert prepare_reference(png, name="from clipboard").name == "from clipboard"
    assert prepare_reference(write(tmp_path, "cat.png", png), name="Cat").name == "Cat"
    assert payload(prepare_reference(bytearray(png)))[1] == png


def test_the_repr_leaves_out_the_megabytes_of_base64() -> None:
    prepared = prepare_reference(encode(gradient(40, 30), "png"))
    assert "base64" not in repr(prepared) and "data:" not in repr(prepared)


# --------------------------------------------------------------------------------------------------------
# URLs and data URIs


@pytest.mark.parametrize(
    "url",
    ["https://example.com/cat.png", "http://example.com:8080/a/b.jpg?x=1&y=2#frag", "HTTPS://Example.com/Cat.PNG"],
)
def test_urls_are_passed_on_unchanged_and_never_fetched(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server must never fetch a URL a user typed")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)

    assert prepare_reference(url) == PreparedReference(url, url, None, None, None, reencoded=False)
    assert prepare_references([url, url]) == [prepare_reference(url)] * 2


def test_surrounding_spaces_around_a_url_are_dropped() -> None:
    assert prepare_reference("  https://example.com/cat.png\n").value == "https://example.com/cat.png"


@pytest.mark.parametrize("url", ["https://", "http:// example.com/a.png", "https://exa mple.com/a.png", "http://:80/x"])
def test_a_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(ReferenceImageError):
        prepare_reference(url)


def test_a_valid_data_uri_is_passed_on_unchanged() -> None:
    uri = "data:image/png;base64," + base64.b64encode(encode(gradient(40, 30), "png")).decode()
    prepared = prepare_reference(uri)

    assert prepared.value == uri
    assert (prepared.format, prepared.width, prepared.height, prepared.reencoded) == ("png", 40, 30, False)


def test_a_data_uri_with_the_wrong_type_or_line_breaks_gets_a_correct_header_and_the_same_image() -> None:
    jpeg = encode(gradient(40, 30), "jpeg")
    b64 = base64.b64encode(jpeg).decode()
    wrapped = "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))

    prepared = prepare_reference(f"data:image/png;base64,{wrapped}")

    assert prepared.value == f"data:image/jpeg;base64,{b64}"
    assert prepared.reencoded is False


def test_a_data_uri_is_checked_like_a_file() -> None:
    big = "data:image/png;base64," + base64.b64encode(encode(gradient(400, 300), "png")).decode()
    prepared = prepare_reference(big, max_pixels=30_000)
    assert prepared.reencoded and area(prepared) <= 30_000

    svg = "data:image/svg+xml;base64," + base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode()
    with pytest.raises(ReferenceImageError, match="not an image Seedream accepts"):
        prepare_reference(svg)
    with pytest.raises(ReferenceImageError, match="Base64 data is corrupt"):
        prepare_reference("data:image/png;base64,iVBOR!!!not base64")
    with pytest.raises(ReferenceImageError, match="without Base64"):
        prepare_reference("data:image/png,rawdata")


# --------------------------------------------------------------------------------------------------------
# Re-encoding: rotated, too large, unusual modes, animations, PIL images


def test_an_exif_rotated_photo_comes_out_upright(tmp_path: Path) -> None:
    stored = Image.new("RGB", (80, 40), BLUE)
    stored.paste(RED, (0, 0, 20, 20))  # top-left as stored; orientation 6 = turn 90 degrees clockwise to view
    path = write(tmp_path, "phone.jpg", with_orientation(stored, 6))

    prepared = prepare_reference(path)
    image = opened(prepared)

    assert (prepared.width, prepared.height) == image.size == (40, 80)
    assert prepared.reencoded and prepared.format == "jpeg"
    assert close(pixel(image, (34, 5)), RED)  # the red corner is now top-right
    assert close(pixel(image, (5, 5)), BLUE)
    assert image.getexif().get(0x0112, 1) == 1  # no viewer will turn it a second time


def test_a_photo_too_large_in_pixels_is_downscaled_keeping_its_aspect_ratio(tmp_path: Path) -> None:
    path = write(tmp_path, "wide.png", encode(gradient(400, 300), "png"))

    prepared = prepare_reference(path, max_pixels=30_000)
    image = opened(prepared)

    assert prepared.reencoded
    assert image.size == (prepared.width, prepared.height)
    assert 0.95 * 30_000 <= image.width * image.height <= 30_000
    assert image.width / image.height == pytest.approx(400 / 300, rel=0.02)


def test_a_jpeg_too_large_in_pixels_is_decoded_at_reduced_scale(tmp_path: Path) -> None:
    path = write(tmp_path, "big.jpg", encode(gradient(800, 600), "jpeg", quality=90))

    prepared = prepare_reference(path, max_pixels=200_000)

    # The decoder halves it (400x300): within the limit, same shape, and never below a quarter of the limit.
    assert (prepared.width, prepared.height) == opened(prepared).size == (400, 300)
    assert prepared.reencoded and prepared.format == "jpeg"


def test_an_image_too_large_in_bytes_is_reencoded_under_the_limit(tmp_path: Path) -> None:
    original = encode(noise(300, 300), "png")
    assert len(original) > 200_000

    prepared = prepare_reference(write(tmp_path, "noisy.png", original), max_bytes=40_000)
    mime, data = payload(prepared)

    assert prepared.reencoded and mime == "image/jpeg"  # opaque: JPEG
    assert len(data) <= 40_000
    assert opened(prepared).size == (prepared.width, prepared.height)
    assert prepared.width == prepared.height  # shrunk, if at all, in proportion


def test_a_transparent_image_stays_transparent_as_png(tmp_path: Path) -> None:
    image = Image.new("RGBA", (400, 300), (*RED, 255))
    image.paste((0, 0, 0, 0), (0, 0, 100, 100))

    prepared = prepare_reference(encode(image, "png"), max_pixels=30_000)
    result = opened(prepared)

    assert payload(prepared)[0] == "image/png" and result.mode == "RGBA"
    assert pixel(result, (2, 2))[3] == 0 and pixel(result, (result.width - 2, result.height - 2))[3] == 255


def test_a_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", (64, 48), (255, 0, 0, 0))  # pure cyan ink
    path = write(tmp_path, "print.jpg", encode(cmyk, "jpeg", icc_profile=b"a CMYK profile, useless for RGB"))

    prepared = prepare_reference(path)
    image = opened(prepared)

    assert prepared.reencoded and image.mode == "RGB" and image.size == (64, 48)
    assert close(pixel(image, (10, 10)), CYAN)
    assert "icc_profile" not in image.info


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped(tmp_path: Path) -> None:
    deep = Image.new("I;16", (64, 48), 128 * 257)  # mid grey in 16 bits
    path = write(tmp_path, "scan.png", encode(deep, "png"))

    prepared = prepare_reference(path)
    image = opened(prepared)

    assert prepared.reencoded and image.mode == "L"
    assert abs(pixel(image, (5, 5))[0] - 128) <= 2


def test_an_icc_profile_is_kept_when_the_colours_stay_rgb(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = write(tmp_path, "p3.jpg", with_orientation(gradient(64, 48), 6, icc_profile=srgb))

    image = opened(prepare_reference(path))

    assert image.info.get("icc_profile") == srgb


def animated_gif(width: int, height: int, colours: list[tuple[int, int, int]]) -> bytes:
    frames = [Image.new("RGB", (width, height), colour) for colour in colours]
    return encode(frames[0], "gif", save_all=True, append_images=frames[1:], duration=100, loop=0)


def test_a_large_animated_gif_becomes_its_first_frame_downscaled(tmp_path: Path) -> None:
    path = write(tmp_path, "dance.gif", animated_gif(600, 400, [RED, GREEN, BLUE, GREEN, RED]))

    prepared = prepare_reference(path, max_pixels=60_000)
    image = opened(prepared)

    assert prepared.reencoded and prepared.format == "jpeg"
    assert image.width * image.height <= 60_000 and image.width / image.height == pytest.approx(1.5, rel=0.02)
    assert not getattr(image, "is_animated", False)
    assert close(pixel(image, (image.width // 2, image.height // 2)), RED)


def test_even_a_small_animated_gif_sends_only_its_first_frame() -> None:
    prepared = prepare_reference(animated_gif(60, 40, [GREEN, BLUE]))
    assert prepared.reencoded and close(pixel(opened(prepared), (30, 20)), GREEN)


def test_a_pil_image_is_encoded_png_if_transparent_else_jpeg() -> None:
    opaque = prepare_reference(gradient(64, 48))
    transparent = prepare_reference(Image.new("RGBA", (64, 48), (0, 0, 0, 0)))
    cmyk = prepare_reference(Image.new("CMYK", (64, 48), (255, 0, 0, 0)), name="cmyk")

    assert (payload(opaque)[0], opaque.width, opaque.height, opaque.reencoded) == ("image/jpeg", 64, 48, True)
    assert payload(transparent)[0] == "image/png" and pixel(opened(transparent), (1, 1))[3] == 0
    assert cmyk.name == "cmyk" and close(pixel(opened(cmyk), (3, 3)), CYAN)


def test_a_pil_image_respects_the_limits_and_is_left_untouched() -> None:
    source = noise(400, 300)
    before = source.tobytes()

    prepared = prepare_reference(source, max_pixels=30_000, max_bytes=20_000)

    assert area(prepared) <= 30_000 and len(payload(prepared)[1]) <= 20_000
    assert source.size == (400, 300) and source.tobytes() == before


def test_a_pil_image_with_exif_orientation_is_turned_upright(tmp_path: Path) -> None:
    path = write(tmp_path, "phone.jpg", with_orientation(gradient(80, 40), 6))
    with Image.open(path) as image:
        prepared = prepare_reference(image)
    assert (prepared.width, prepared.height) == opened(prepared).size == (40, 80)


# --------------------------------------------------------------------------------------------------------
# The nasty list: every refusal names the file and says what to do


def test_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ReferenceImageError, match=r"^empty\.png is empty\.$") as info:
        prepare_reference(write(tmp_path, "empty.png", b""))
    assert info.value.source == "empty.png" and info.value.field == "image"


@pytest.mark.parametrize("fmt", ["png", "jpeg", "gif", "webp", "bmp", "tiff"])
def test_a_truncated_file(tmp_path: Path, fmt: str) -> None:
    data = encode(noise(64, 64), fmt)
    path = write(tmp_path, f"broken.{fmt}", data[: len(data) // 2])

    expected = rf"^broken\.{fmt} could not be read as an image \(it may be truncated or corrupt\)\.$"
    with pytest.raises(ReferenceImageError, match=expected):
        prepare_reference(path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.png", b"This is a text file with a .png name.\n"),
        ("cat.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'),
        ("photo.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"),
    ],
)
def test_a_file_that_is_not_an_accepted_image(tmp_path: Path, name: str, content: bytes) -> None:
    with pytest.raises(ReferenceImageError) as info:
        prepare_reference(write(tmp_path, name, content))
    assert str(info.value).startswith(f"{name} is not an image Seedream accepts (jpeg, png, webp, bmp, tiff, gif)")
    assert info.value.source == name


def test_an_empty_string_is_not_taken_for_the_current_folder() -> None:
    with pytest.raises(ReferenceImageError, match=r"^A reference image is empty"):
        prepare_reference("  ")


def test_a_missing_file_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ReferenceImageError, match=r"^gone\.png was not found\.$"):
        prepare_reference(tmp_path / "gone.png")
    with pytest.raises(ReferenceImageError, match="is a folder"):
        prepare_reference(tmp_path)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def test_a_decompression_bomb_png_is_refused_fast_without_decoding(tmp_path: Path) -> None:
    bomb = png_bomb(30000, 30000)
    assert len(bomb) < 1_000_000  # 900 million pixels in a small file
    path = write(tmp_path, "huge.png", bomb)
    peak_before = peak_rss_mb()

    with pytest.raises(ReferenceImageError) as info:
        prepare_reference(path)

    assert str(info.value).startswith(
        "huge.png is 30000x30000 (900 megapixels); the largest PNG image accepted is 64 megapixels "
        "(JPEG up to 120). Make it smaller"
    )
    assert peak_rss_mb() - peak_before < 200  # decoding would have needed ~900 MB


@pytest.mark.parametrize(
    ("fmt", "bomb"),
    [("jpeg", jpeg_claiming(60000, 60000)), ("gif", gif_claiming(60000, 60000))],
)
def test_other_formats_claiming_huge_sizes_are_refused_from_the_header(fmt: str, bomb: bytes) -> None:
    peak_before = peak_rss_mb()
    with pytest.raises(ReferenceImageError, match=r"is 60000x60000 \(3,600 megapixels\)"):
        prepare_reference(bomb, name=f"bomb.{fmt}")
    assert peak_rss_mb() - peak_before < 200  # decoding would have needed gigabytes


def test_the_decode_limit_is_well_above_the_api_limit() -> None:
    assert MAX_REFERENCE_PIXELS == 36_000_000 and MAX_REFERENCE_BYTES == 10 * 1024 * 1024
    assert MAX_DECODE_PIXELS >= 108_000_000  # a 108 MP phone photo is downscaled, not refused


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((10, 10), r"^tiny\.png is 10x10 pixels; Seedream needs each side to be at least 15 pixels\.$"),
        ((14, 200), r"at least 15 pixels"),
        ((2000, 100), r"^tiny\.png is 2000x100, an aspect ratio of 20:1; Seedream accepts 1:16 to 16:1\. Crop it"),
        ((100, 1700), r"aspect ratio of 17:1"),
    ],
)
def test_images_too_small_or_too_thin_are_refused_rather_than_distorted(
    tmp_path: Path, size: tuple[int, int], message: str
) -> None:
    path = write(tmp_path, "tiny.png", encode(Image.new("RGB", size, RED), "png"))
    with pytest.raises(ReferenceImageError, match=message):
        prepare_reference(path)
    with pytest.raises(ReferenceImageError):
        prepare_reference(Image.new("RGB", size, RED), name="tiny.png")


@pytest.mark.parametrize("size", [(15, 15), (1600, 100), (100, 1600)])
def test_the_size_boundaries_are_inclusive(size: tuple[int, int]) -> None:
    prepared = prepare_reference(encode(Image.new("RGB", size, RED), "png"))
    assert (prepared.width, prepared.height) == size and not prepared.reencoded


# --------------------------------------------------------------------------------------------------------
# Several at once


def test_several_references_keep_their_order_and_get_names(tmp_path: Path) -> None:
    png = encode(gradient(40, 30), "png")
    path = write(tmp_path, "first.png", png)
    url = "https://example.com/third.jpg"

    prepared = prepare_references([path, png, url, gradient(30, 40), encode(noise(200, 200), "png")], max_bytes=30_000)

    assert [p.name for p in prepared] == ["first.png", "image 2", url, "image 4", "image 5"]
    assert [p.reencoded for p in prepared] == [False, False, False, True, True]
    assert payload(prepared[0])[1] == payload(prepared[1])[1] == png
    assert prepared[3].width == 30 and prepared[3].height == 40


def test_the_first_bad_reference_in_order_is_the_one_reported(tmp_path: Path) -> None:
    good = write(tmp_path, "good.png", encode(gradient(40, 30), "png"))
    empty = write(tmp_path, "empty.png", b"")
    text = write(tmp_path, "text.png", b"hello")

    with pytest.raises(ReferenceImageError) as info:
        prepare_references([good, good, empty, text, good])
    assert info.value.source == "empty.png"


def test_order_decides_between_a_file_that_fails_to_decode_and_one_refused_at_once(tmp_path: Path) -> None:
    damaged = encode(noise(64, 64), "png")
    truncated = write(tmp_path, "truncated.png", damaged[: len(damaged) // 2])  # found out only by decoding
    empty = write(tmp_path, "empty.png", b"")  # found out at once
    rotated = write(tmp_path, "rotated.jpg", with_orientation(gradient(80, 40), 6))  # decodes fine

    with pytest.raises(ReferenceImageError) as info:
        prepare_references([rotated, truncated, empty])
    assert info.value.source == "truncated.png"
    with pytest.raises(ReferenceImageError) as info:
        prepare_references([rotated, rotated, empty, truncated])
    assert info.value.source == "empty.png"


def test_threads_change_nothing_but_speed(tmp_path: Path) -> None:
    sources = [with_orientation(gradient(80 + i, 40), 6) for i in range(4)] + [encode(gradient(50, 40), "png")]

    threaded = prepare_references(sources, max_pixels=2_000)
    sequential = prepare_references(sources, max_pixels=2_000, max_workers=1)

    assert threaded == sequential
    assert all(p.reencoded and (p.height or 0) > (p.width or 0) and area(p) <= 2_000 for p in threaded[:4])
    assert not threaded[4].reencoded


def test_names_can_be_given_and_must_match_the_sources() -> None:
    png = encode(gradient(40, 30), "png")
    assert [p.name for p in prepare_references([png, png], names=["a", None])] == ["a", "image 2"]
    assert prepare_references([]) == []
    with pytest.raises(ValueError):
        prepare_references([png], names=["a", "b"])


# --------------------------------------------------------------------------------------------------------
# URLs typed into a text box


def test_url_lines_ignore_blank_lines_and_surrounding_spaces() -> None:
    text = "\n  https://example.com/a.png  \n\n\thttp://example.com/b.jpg?size=2\r\n   \n"
    assert parse_url_lines(text) == ["https://example.com/a.png", "http://example.com/b.jpg?size=2"]
    assert parse_url_lines("") == [] and parse_url_lines(" \n \n") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://a.com/a.png\n\nwww.example.com/b.png", r"^Line 3 \('www\.example\.com/b\.png'\) is not an http"),
        ("ftp://example.com/a.png", r"^Line 1 \('ftp://example\.com/a\.png'\)"),
        ("data:image/png;base64,iVBORw0KGgo=", r"^Line 1 .* is not an http:// or https:// URL"),
        ("https://example.com/my cat.png", r"^Line 1 .* contains spaces"),
        ("https://", r"^Line 1 \('https://'\) is not an http"),
        ("http://?q=1", r"^Line 1 .* has no host name"),
    ],
)
def test_a_line_that_is_not_a_url_is_named_by_number_and_text(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        parse_url_lines(text)
    assert info.value.field == "image"


def test_a_very_long_bad_line_is_shortened_in_the_message() -> None:
    with pytest.raises(ValidationError) as info:
        parse_url_lines("x" * 5000)
    assert len(str(info.value)) < 200


# --------------------------------------------------------------------------------------------------------
# Robustness: damaged files only ever produce a ReferenceImageError


SMALL_FILES = {fmt: encode(gradient(24, 20), fmt) for fmt in PILLOW_NAMES}


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about some damaged TIFF tags; harmless
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(sorted(SMALL_FILES)),
    cut=st.integers(min_value=1, max_value=400),
    flips=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 255)), max_size=4),  # (position, xor mask)
)
def test_damaged_files_are_either_refused_by_name_or_still_usable(
    fmt: str, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(SMALL_FILES[fmt][: max(1, len(SMALL_FILES[fmt]) - cut)])
    for position, mask in flips:
        if position < len(data):
            data[position] ^= mask
    try:
        prepared = prepare_reference(bytes(data), name="damaged")
    except ReferenceImageError as error:
        assert error.source == "damaged" and str(error).startswith("damaged ")
    else:
        mime, body = payload(prepared)
        assert mime == f"image/{prepared.format}" and body
