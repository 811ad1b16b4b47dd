"""Image formats are recognised from their bytes (never from names or labels)."""

from __future__ import annotations

import base64

import pytest

from seedream_ui.formats import (
    ALLOWED_FORMATS,
    is_base64,
    is_http_url,
    sniff_base64,
    sniff_format,
    split_data_uri,
)
from tests.images import b64, image_bytes


def test_the_allowed_formats_are_the_six_the_reference_page_lists() -> None:
    assert set(ALLOWED_FORMATS) == {"jpeg", "png", "webp", "bmp", "tiff", "gif"}


@pytest.mark.parametrize("fmt", ALLOWED_FORMATS)
def test_a_real_file_of_each_allowed_format_is_recognised(fmt: str) -> None:
    assert sniff_format(image_bytes(fmt, (2, 2))) == fmt


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        pytest.param(b"\xff\xd8\xff\xe1\x00\x18Exif", "jpeg", id="jpeg-exif"),
        pytest.param(b"\xff\xd8\xff\xdb", "jpeg", id="jpeg-raw"),
        pytest.param(b"\x89PNG\r\n\x1a\n", "png", id="png-signature-only"),
        pytest.param(b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp", id="webp"),
        pytest.param(b"GIF87a\x01\x00", "gif", id="gif87a"),
        pytest.param(b"GIF89a\x01\x00", "gif", id="gif89a"),
        pytest.param(b"BM6\x00\x00\x00\x00\x00\x00\x006\x00\x00\x00(\x00\x00\x00", "bmp", id="bmp"),
        pytest.param(b"II*\x00\x08\x00\x00\x00", "tiff", id="tiff-little-endian"),
        pytest.param(b"MM\x00*\x00\x00\x00\x08", "tiff", id="tiff-big-endian"),
    ],
)
def test_magic_bytes_name_the_format(head: bytes, fmt: str) -> None:
    assert sniff_format(head) == fmt


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"/>', id="svg"),
        pytest.param(b'<?xml version="1.0"?><svg/>', id="svg-with-xml-declaration"),
        pytest.param(b"%PDF-1.7\n", id="pdf"),
        pytest.param(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", id="heic"),
        pytest.param(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", id="avif"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt ", id="riff-but-wav"),
        pytest.param(b"\x00\x00\x01\x00\x01\x00", id="ico"),
        pytest.param(b"PK\x03\x04", id="zip"),
        pytest.param(b"hello, world", id="text"),
        pytest.param(b"\x89PNG\r\n", id="png-signature-cut-short"),
        pytest.param(b"GIF8", id="gif-signature-cut-short"),
        pytest.param(b"\xff\xd8", id="jpeg-signature-cut-short"),
    ],
)
def test_other_or_incomplete_content_is_not_an_allowed_format(head: bytes) -> None:
    assert sniff_format(head) is None


@pytest.mark.parametrize("fmt", ALLOWED_FORMATS)
def test_sniff_base64_recognises_each_allowed_format(fmt: str) -> None:
    assert sniff_base64(b64(image_bytes(fmt, (2, 2)))) == fmt


def test_sniff_base64_ignores_surrounding_whitespace() -> None:
    assert sniff_base64("  " + b64(image_bytes("png", (2, 2))) + "\n") == "png"


def test_sniff_base64_recognises_a_multi_megabyte_payload() -> None:
    payload = b64(image_bytes("png", (2, 2)) + bytes(2 * 1024 * 1024))
    assert sniff_base64(payload) == "png"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param("", id="empty"),
        pytest.param("iVBO", id="truncated-before-the-png-signature-ends"),
        pytest.param("iVBORw0K", id="six-bytes-of-png-signature"),
        pytest.param("/9", id="two-characters"),
        pytest.param("!!!!not base64!!!!", id="not-base64-at-all"),
        pytest.param("iVBOR w0KGgo=", id="space-inside"),
        pytest.param("_9j_4AAQSkZJRgABAQ", id="url-safe-alphabet-jpeg"),
        pytest.param(b64(b"just some notes, not a picture"), id="text-file"),
        pytest.param(b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), id="svg"),
        pytest.param(b64(b"%PDF-1.4 ..."), id="pdf"),
    ],
)
def test_sniff_base64_returns_none_for_truncated_invalid_or_other_content(payload: str) -> None:
    assert sniff_base64(payload) is None


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        pytest.param("data:image/png;base64,iVBORw0KGgo=", ("image/png", "iVBORw0KGgo="), id="png"),
        pytest.param("data:image/jpeg;base64,/9j/4AAQ", ("image/jpeg", "/9j/4AAQ"), id="jpeg"),
        pytest.param("data:;base64,AAAA", (None, "AAAA"), id="no-mime"),
        pytest.param("DATA:IMAGE/PNG;BASE64,AAAA", ("IMAGE/PNG", "AAAA"), id="upper-case"),
        pytest.param("data:image/png;name=cat.png;base64,AAAA", ("image/png", "AAAA"), id="with-parameter"),
        pytest.param("data:image/svg+xml;base64,PHN2Zz4=", ("image/svg+xml", "PHN2Zz4="), id="mime-with-plus"),
        pytest.param("data:image/png;base64,", ("image/png", ""), id="empty-payload"),
    ],
)
def test_split_data_uri_gives_the_mime_type_and_the_payload(uri: str, expected: tuple[str | None, str]) -> None:
    assert split_data_uri(uri) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("iVBORw0KGgo=", id="bare-base64"),
        pytest.param("data:image/svg+xml,<svg/>", id="not-base64-encoded"),
        pytest.param("data:image/png,iVBORw0KGgo=", id="missing-base64-marker"),
        pytest.param("https://example.com/cat.png", id="url"),
        pytest.param(" data:image/png;base64,AAAA", id="leading-space"),
        pytest.param("", id="empty"),
    ],
)
def test_split_data_uri_returns_none_for_anything_else(value: str) -> None:
    assert split_data_uri(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("https://example.com/cat.png", True, id="https"),
        pytest.param("http://127.0.0.1:8000/a.jpg", True, id="http-with-port"),
        pytest.param("HTTPS://EXAMPLE.COM/A.PNG", True, id="upper-case-scheme"),
        pytest.param("https://", False, id="scheme-only"),
        pytest.param("ftp://example.com/cat.png", False, id="ftp"),
        pytest.param("file:///etc/passwd", False, id="file"),
        pytest.param("//example.com/cat.png", False, id="scheme-relative"),
        pytest.param("example.com/cat.png", False, id="no-scheme"),
        pytest.param("data:image/png;base64,AAAA", False, id="data-uri"),
        pytest.param("", False, id="empty"),
    ],
)
def test_is_http_url_accepts_only_http_and_https_urls(value: str, expected: bool) -> None:
    assert is_http_url(value) is expected


def test_text_that_happens_to_start_with_BM_is_not_a_bitmap() -> None:
    assert sniff_format(b"BMW owners club minutes, 2026") is None


@pytest.mark.parametrize(
    ("payload", "ok"),
    [
        pytest.param(base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"x" * 100).decode(), True, id="whole"),
        pytest.param(base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"x" * 100).decode()[:-3], False, id="cut-short"),
        pytest.param("iVBORw0KGgo=\nAAAA", False, id="line-break"),
        pytest.param("iVBORw0KGgo=AAAA", False, id="padding-in-the-middle"),
        pytest.param("iVBORw0KGgo é=", False, id="non-ascii"),
        pytest.param("", False, id="empty"),
    ],
)
def test_is_base64_checks_the_whole_payload(payload: str, ok: bool) -> None:
    assert is_base64(payload) is ok
