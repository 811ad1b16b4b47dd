"""The local stand-in for the Seedream 4.5 API behaves as its protocol says, over real HTTP."""

from __future__ import annotations

import base64
import gc
import hashlib
import io
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from seedream_ui.stub_api import (
    FAULTS,
    InvalidArgument,
    StubConfig,
    StubServer,
    read_marker,
    validate_body,
)
from tests.images import b64, image_bytes
from tests.waiting import wait_for

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SMALL = "1920x1920"  # the smallest square the API allows: cheapest to draw
REPO = Path(__file__).resolve().parents[1]


PNG = b64(image_bytes("PNG"))
TEXT_FILE = base64.b64encode(b"just some notes\nnot a picture\n").decode("ascii")


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as client:
        yield client


def body(**fields: Any) -> dict[str, Any]:
    return {"prompt": "a red fox in the snow", "size": SMALL, **fields}


def post(http: httpx.Client, stub: StubServer, payload: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return http.post(stub.url, json=payload, headers={**AUTH, **(headers or {})})


def assert_error(response: httpx.Response, status: int, reason: str) -> str:
    """The error body has exactly code, reason and message; returns the message."""
    assert response.status_code == status
    payload = response.json()
    assert set(payload) == {"code", "reason", "message"}
    assert payload["code"] == status
    assert payload["reason"] == reason
    assert isinstance(payload["message"], str) and len(payload["message"]) > 10
    return payload["message"]


def fetch_images(http: httpx.Client, response: httpx.Response) -> list[bytes]:
    """The bytes of every result, whatever shape it came in."""
    images = []
    for item in response.json()["images"]:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if value.startswith("http"):
            fetched = http.get(value)
            assert fetched.status_code == 200
            images.append(fetched.content)
        else:
            images.append(base64.b64decode(value.split(",", 1)[-1], validate=True))
    return images


def dimensions(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


# --- auth and the envelope -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    # (httpx refuses to send a header value with trailing spaces, so "Bearer " cannot be tried.)
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", f"Token {KEY}", KEY],
    ids=["missing", "empty", "scheme-only", "basic", "other-scheme", "no-scheme"],
)
def test_requests_without_a_bearer_token_are_unauthenticated(
    http: httpx.Client, stub: StubServer, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = http.post(stub.url, json=body(), headers=headers)
    assert_error(response, 401, "UNAUTHENTICATED")


def test_any_non_empty_key_is_accepted_when_no_key_is_configured(http: httpx.Client, stub: StubServer) -> None:
    response = http.post(stub.url, json=body(), headers={"Authorization": "Bearer whatever-123"})
    assert response.status_code == 200


def test_a_configured_key_is_the_only_one_accepted_and_never_echoed(http: httpx.Client) -> None:
    with StubServer(StubConfig(api_key="right-key")) as stub:
        wrong = http.post(stub.url, json=body(), headers={"Authorization": "Bearer wrong-key"})
        message = assert_error(wrong, 401, "UNAUTHENTICATED")
        assert "wrong-key" not in message and "right-key" not in message
        right = http.post(stub.url, json=body(), headers={"Authorization": "Bearer right-key"})
        assert right.status_code == 200
    assert "right-key" not in repr(StubConfig(api_key="right-key"))


def test_authentication_comes_before_validation(http: httpx.Client, stub: StubServer) -> None:
    response = http.post(stub.url, json={"size": "tiny"})
    assert_error(response, 401, "UNAUTHENTICATED")


def test_content_type_must_be_json(http: httpx.Client, stub: StubServer) -> None:
    response = http.post(stub.url, content=b'{"prompt": "a fox"}', headers={**AUTH, "Content-Type": "text/plain"})
    assert "Content-Type" in assert_error(response, 400, "INVALID_ARGUMENT")


def test_json_with_a_charset_is_accepted(http: httpx.Client, stub: StubServer) -> None:
    headers = {**AUTH, "Content-Type": "application/json; charset=utf-8"}
    response = http.post(stub.url, content=b'{"prompt": "a fox", "size": "1920x1920"}', headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize("raw", [b"not json at all", b'["prompt"]', b'"a fox"', b"null"])
def test_the_body_must_be_a_json_object(http: httpx.Client, stub: StubServer, raw: bytes) -> None:
    response = http.post(stub.url, content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert_error(response, 400, "INVALID_ARGUMENT")


# --- validation, rule by rule, at the boundaries -------------------------------------------------------------

VALID = {
    "min-pixels": {"size": "1920x1920"},
    "ratio-16-wide": {"size": "7680x480"},
    "ratio-16-tall": {"size": "480x7680"},
    "2K": {"size": "2K"},
    "default-size": {"size": None},
    "14-refs": {"image": [PNG] * 14},
    "14-refs-plus-1": {"image": [PNG] * 14, "sequential_image_generation_options": {"max_images": 1}},
    "0-refs-plus-15": {"sequential_image_generation_options": {"max_images": 15}},
    "5-refs-plus-10": {"image": [PNG] * 5, "sequential_image_generation_options": {"max_images": 10}},
    "url-refs": {"image": ["https://example.com/cat.png", "http://cdn.example.org/a/b.jpg?x=1"]},
    "data-uri": {"image": [f"data:image/png;base64,{PNG}"]},
    "watermark-false": {"watermark": False},
    "mode-standard": {"optimize_prompt_options": {"mode": "standard"}},
    "mode-fast": {"optimize_prompt_options": {"mode": "fast"}},
    "sequence-disabled": {"sequential_image_generation": "disabled"},
    "unknown-field": {"seed": 42, "response_format": "whatever"},
    **{f"b64-{fmt}": {"image": [b64(image_bytes(fmt))]} for fmt in ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")},
}


@pytest.mark.parametrize("fields", VALID.values(), ids=VALID.keys())
def test_valid_requests_succeed(http: httpx.Client, stub: StubServer, fields: dict[str, Any]) -> None:
    payload = {key: value for key, value in body(**fields).items() if value is not None}
    response = post(http, stub, payload, {"X-Stub-Response-Format": "b64"})
    assert response.status_code == 200, response.text
    assert len(response.json()["images"]) == 1


INVALID = {
    "prompt-missing": ({"prompt": None}, "prompt"),
    "prompt-empty": ({"prompt": ""}, "prompt"),
    "prompt-blank": ({"prompt": "  \n\t "}, "prompt"),
    "prompt-number": ({"prompt": 42}, "prompt"),
    "pixels-one-below-min": ({"size": "1919x1921"}, "size"),  # 3686399 pixels
    "pixels-above-max": ({"size": "4096x4097"}, "size"),
    "ratio-above-16-wide": ({"size": "7681x480"}, "size"),
    "ratio-above-16-tall": ({"size": "480x7681"}, "size"),
    "size-uppercase-x": ({"size": "2048X2048"}, "size"),
    "size-spaces": ({"size": "2048 x 2048"}, "size"),
    "size-padded": ({"size": " 2048x2048"}, "size"),
    "size-trailing-space": ({"size": "2048x2048 "}, "size"),
    "size-leading-zero": ({"size": "02048x2048"}, "size"),
    "size-star": ({"size": "2048*2048"}, "size"),
    "size-decimal": ({"size": "2048.0x2048"}, "size"),
    "size-lowercase-k": ({"size": "2k"}, "size"),
    "size-8K": ({"size": "8K"}, "size"),
    "size-empty": ({"size": ""}, "size"),
    "size-number": ({"size": 2048}, "size"),
    "size-null": ({"size": None}, "size"),
    "image-empty-array": ({"image": []}, "image"),
    "image-15-refs": ({"image": [PNG] * 15}, "image"),
    "image-a-string": ({"image": PNG}, "image"),
    "image-number": ({"image": [123]}, "image[0]"),
    "image-empty-string": ({"image": [PNG, ""]}, "image[1]"),
    "image-not-base64": ({"image": ["not base64 at all!"]}, "image[0]"),
    "image-bad-padding": ({"image": [PNG[:-1]]}, "image[0]"),
    "image-text-file": ({"image": [TEXT_FILE]}, "image[0]"),
    "image-text-data-uri": ({"image": [f"data:text/plain;base64,{PNG}"]}, "image[0]"),
    "image-data-uri-of-text": ({"image": [f"data:image/png;base64,{TEXT_FILE}"]}, "image[0]"),
    "image-ftp-url": ({"image": ["ftp://example.com/cat.png"]}, "image[0]"),
    "image-url-without-host": ({"image": ["https://"]}, "image[0]"),
    "watermark-string": ({"watermark": "true"}, "watermark"),
    "watermark-number": ({"watermark": 1}, "watermark"),
    "watermark-null": ({"watermark": None}, "watermark"),
    "mode-uppercase": ({"optimize_prompt_options": {"mode": "STANDARD"}}, "optimize_prompt_options.mode"),
    "mode-unknown": ({"optimize_prompt_options": {"mode": "slow"}}, "optimize_prompt_options.mode"),
    "mode-empty": ({"optimize_prompt_options": {"mode": ""}}, "optimize_prompt_options.mode"),
    "mode-null": ({"optimize_prompt_options": {"mode": None}}, "optimize_prompt_options.mode"),
    "mode-bare-string": ({"optimize_prompt_options": "fast"}, "optimize_prompt_options"),
    "sequence-unknown": ({"sequential_image_generation": "enabled"}, "sequential_image_generation"),
    "sequence-capitalised": ({"sequential_image_generation": "Auto"}, "sequential_image_generation"),
    "sequence-bool": ({"sequential_image_generation": True}, "sequential_image_generation"),
    "options-not-object": ({"sequential_image_generation_options": 3}, "sequential_image_generation_options"),
    "max-images-zero": ({"sequential_image_generation_options": {"max_images": 0}}, "max_images"),
    "max-images-negative": ({"sequential_image_generation_options": {"max_images": -1}}, "max_images"),
    "max-images-float": ({"sequential_image_generation_options": {"max_images": 2.0}}, "max_images"),
    "max-images-bool": ({"sequential_image_generation_options": {"max_images": True}}, "max_images"),
    "max-images-string": ({"sequential_image_generation_options": {"max_images": "3"}}, "max_images"),
    "0-refs-plus-16": ({"sequential_image_generation_options": {"max_images": 16}}, "max_images"),
    "14-refs-plus-2": (
        {"image": [PNG] * 14, "sequential_image_generation_options": {"max_images": 2}},
        "max_images",
    ),
    "5-refs-plus-11-auto": (
        {
            "image": [PNG] * 5,
            "sequential_image_generation": "auto",
            "sequential_image_generation_options": {"max_images": 11},
        },
        "max_images",
    ),
}


@pytest.mark.parametrize(("fields", "field_name"), INVALID.values(), ids=INVALID.keys())
def test_invalid_requests_are_refused_naming_the_field(
    http: httpx.Client, stub: StubServer, fields: dict[str, Any], field_name: str
) -> None:
    payload = body(**fields)
    if fields == {"prompt": None}:
        del payload["prompt"]
    message = assert_error(post(http, stub, payload), 400, "INVALID_ARGUMENT")
    assert field_name in message


# --- images --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "count"),
    [
        ({"sequential_image_generation": "auto", "sequential_image_generation_options": {"max_images": 3}}, 3),
        ({"sequential_image_generation": "auto"}, 1),
        ({"sequential_image_generation": "disabled", "sequential_image_generation_options": {"max_images": 3}}, 1),
        ({}, 1),
    ],
    ids=["auto-3", "auto-without-max", "disabled-ignores-max", "default"],
)
def test_the_number_of_images(http: httpx.Client, stub: StubServer, fields: dict[str, Any], count: int) -> None:
    response = post(http, stub, body(**fields))
    markers = [read_marker(image) for image in fetch_images(http, response)]
    assert [(m["index"], m["count"]) for m in markers if m] == [(i, count) for i in range(1, count + 1)]


@pytest.mark.parametrize(("size", "expected"), [("2K", (2048, 2048)), ("1920x1920", (1920, 1920)), ("2400x1600", (2400, 1600))])
def test_each_image_is_exactly_the_requested_size(
    http: httpx.Client, stub: StubServer, size: str, expected: tuple[int, int]
) -> None:
    [image] = fetch_images(http, post(http, stub, body(size=size)))
    assert dimensions(image) == expected
    assert read_marker(image)["size"] == f"{expected[0]}x{expected[1]}"


def test_a_4k_image_is_4096_square(http: httpx.Client, stub: StubServer) -> None:
    response = post(http, stub, body(size="4K"), {"X-Stub-Response-Format": "b64"})
    [image] = fetch_images(http, response)
    assert dimensions(image) == (4096, 4096)


def test_the_marker_carries_prompt_token_and_references(http: httpx.Client, stub: StubServer) -> None:
    prompt = "A lighthouse on a cliff, 灯塔, at dusk"
    payload = body(prompt=prompt, image=[PNG, "https://images.example.com/ref.jpg"], watermark=False)
    response = post(http, stub, payload, {"X-Stub-Token": "case-17"})
    [image] = fetch_images(http, response)
    marker = read_marker(image)
    assert marker["prompt"] == prompt
    assert marker["token"] == "case-17"
    assert marker["request_id"] == stub.requests()[0]["id"]
    assert marker["watermark"] is False
    kinds = [(ref["kind"], ref.get("format"), ref.get("host")) for ref in marker["references"]]
    assert kinds == [("base64", "png", None), ("url", None, "images.example.com")]


def test_without_a_token_header_the_token_is_the_request_id(http: httpx.Client, stub: StubServer) -> None:
    [image] = fetch_images(http, post(http, stub, body()))
    marker = read_marker(image)
    assert marker["token"] == marker["request_id"] == stub.requests()[0]["id"]


def test_images_are_jpeg_by_default_and_png_on_request(http: httpx.Client, stub: StubServer) -> None:
    [jpeg] = fetch_images(http, post(http, stub, body()))
    [png] = fetch_images(http, post(http, stub, body(), {"X-Stub-Image-Format": "png"}))
    assert jpeg.startswith(b"\xff\xd8\xff") and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert read_marker(png)["prompt"] == read_marker(jpeg)["prompt"] == "a red fox in the snow"


def test_the_watermark_is_drawn_in_the_bottom_right_corner_only_when_asked(http: httpx.Client, stub: StubServer) -> None:
    marked, plain = (
        Image.open(io.BytesIO(fetch_images(http, post(http, stub, body(watermark=flag)))[0])).convert("L")
        for flag in (True, False)
    )
    corner = (1920 - 400, 1920 - 150, 1920, 1920)
    top_left = (0, 0, 400, 150)

    def difference(box: tuple[int, int, int, int]) -> int:
        a, b = marked.crop(box).tobytes(), plain.crop(box).tobytes()
        return sum(abs(x - y) for x, y in zip(a, b, strict=True)) // len(a)

    assert difference(corner) > 10  # white text with a dark outline on a smooth gradient
    assert difference(top_left) < 2


def test_url_references_are_never_fetched(http: httpx.Client, stub: StubServer) -> None:
    reference = f"{stub.base_url}/_stub/images/some-reference.jpg"
    assert post(http, stub, body(image=[reference])).status_code == 200
    assert stub.image_fetches() == 0


def test_read_marker_ignores_other_bytes() -> None:
    assert read_marker(b"not an image") is None
    assert read_marker(base64.b64decode(PNG)) is None


# --- response formats ----------------------------------------------------------------------------------------


def _shape(item: Any) -> str:
    if isinstance(item, dict):
        return "object-url" if "url" in item else "object-b64" if "b64_json" in item else "object-?"
    if item.startswith("http://"):
        return "url"
    return "data-uri" if item.startswith("data:image/jpeg;base64,") else "b64"


@pytest.mark.parametrize("shape", ["url", "b64", "data-uri", "object-url", "object-b64"])
def test_each_response_format(http: httpx.Client, stub: StubServer, shape: str) -> None:
    response = post(http, stub, body(), {"X-Stub-Response-Format": shape})
    assert [_shape(item) for item in response.json()["images"]] == [shape]
    [image] = fetch_images(http, response)
    assert dimensions(image) == (1920, 1920)


def test_urls_are_the_default_and_point_at_the_stub(http: httpx.Client, stub: StubServer) -> None:
    [url] = post(http, stub, body()).json()["images"]
    assert url.startswith(stub.base_url + "/_stub/images/") and url.endswith(".jpg")
    fetched = http.get(url)
    assert fetched.headers["content-type"] == "image/jpeg"
    assert stub.image_fetches() == 1


def test_mixed_cycles_through_the_five_shapes(http: httpx.Client, stub: StubServer) -> None:
    fields = {"sequential_image_generation": "auto", "sequential_image_generation_options": {"max_images": 6}}
    response = post(http, stub, body(**fields), {"X-Stub-Response-Format": "mixed"})
    shapes = [_shape(item) for item in response.json()["images"]]
    assert shapes == ["url", "b64", "data-uri", "object-url", "object-b64", "url"]
    assert [read_marker(image)["index"] for image in fetch_images(http, response)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("header", "value"),
    [("X-Stub-Response-Format", "xml"), ("X-Stub-Image-Format", "gif"), ("X-Stub-Latency", "soon"),
     ("X-Stub-Fault", "explode")],
)
def test_unknown_control_header_values_are_refused(http: httpx.Client, stub: StubServer, header: str, value: str) -> None:
    assert header in assert_error(post(http, stub, body(), {header: value}), 400, "INVALID_ARGUMENT")


# --- faults --------------------------------------------------------------------------------------------------

ERROR_FAULTS = {
    "400": (400, "INVALID_ARGUMENT"),
    "content-policy": (400, "CONTENT_POLICY"),
    "401": (401, "UNAUTHENTICATED"),
    "403": (403, "PERMISSION_DENIED"),
    "429": (429, "RATE_LIMITED"),
    "429-no-retry-after": (429, "RATE_LIMITED"),
    "500": (500, "INTERNAL"),
    "502": (502, "BAD_GATEWAY"),
    "503": (503, "UNAVAILABLE"),
    "504": (504, "GATEWAY_TIMEOUT"),
}


@pytest.mark.parametrize(("fault", "expected"), ERROR_FAULTS.items(), ids=ERROR_FAULTS.keys())
def test_error_faults(http: httpx.Client, stub: StubServer, fault: str, expected: tuple[int, str]) -> None:
    response = post(http, stub, body(), {"X-Stub-Fault": fault})
    message = assert_error(response, *expected)
    assert ("Retry-After" in response.headers) == (fault == "429")
    if fault == "400":
        assert message == "The request is invalid (injected fault)."
    if fault == "content-policy":
        assert "sensitive content" in message
    assert stub.requests()[0]["status"] == expected[0]


def test_retry_after_defaults_to_one_and_follows_the_header(http: httpx.Client, stub: StubServer) -> None:
    default = post(http, stub, body(), {"X-Stub-Fault": "429"})
    chosen = post(http, stub, body(), {"X-Stub-Fault": "429", "X-Stub-Retry-After": "7"})
    assert (default.headers["Retry-After"], chosen.headers["Retry-After"]) == ("1", "7")


def test_faults_apply_before_auth_and_validation(http: httpx.Client, stub: StubServer) -> None:
    response = http.post(stub.url, content=b"garbage", headers={"X-Stub-Fault": "503"})
    assert_error(response, 503, "UNAVAILABLE")
    [record] = stub.requests()
    assert (record["status"], record["body"], record["api_key"]) == (503, None, None)


def test_ok_fault_answers_normally(http: httpx.Client, stub: StubServer) -> None:
    assert post(http, stub, body(), {"X-Stub-Fault": "ok"}).status_code == 200


def test_not_json(http: httpx.Client, stub: StubServer) -> None:
    response = post(http, stub, body(), {"X-Stub-Fault": "not-json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == "<html>upstream error</html>"


@pytest.mark.parametrize(("fault", "payload"), [("no-images", {"data": []}), ("empty-images", {"images": []})])
def test_empty_answers(http: httpx.Client, stub: StubServer, fault: str, payload: dict[str, Any]) -> None:
    response = post(http, stub, body(), {"X-Stub-Fault": fault})
    assert (response.status_code, response.json()) == (200, payload)


AUTO_2 = {"sequential_image_generation": "auto", "sequential_image_generation_options": {"max_images": 2}}
AUTO_3 = {"sequential_image_generation": "auto", "sequential_image_generation_options": {"max_images": 3}}


def test_bad_image_answers_base64_that_is_no_image(http: httpx.Client, stub: StubServer) -> None:
    response = post(http, stub, body(**AUTO_2), {"X-Stub-Fault": "bad-image"})
    images = response.json()["images"]
    assert response.status_code == 200 and len(images) == 2
    for item in images:
        with pytest.raises(Exception):  # noqa: B017 - Pillow raises its own error types
            Image.open(io.BytesIO(base64.b64decode(item, validate=True)))


def test_url_404_answers_urls_that_are_not_there(http: httpx.Client, stub: StubServer) -> None:
    response = post(http, stub, body(**AUTO_2), {"X-Stub-Fault": "url-404"})
    urls = response.json()["images"]
    assert len(urls) == 2
    for url in urls:
        assert_error(http.get(url), 404, "NOT_FOUND")


def test_partial_url_404_breaks_only_the_first_url(http: httpx.Client, stub: StubServer) -> None:
    first, *rest = post(http, stub, body(**AUTO_3), {"X-Stub-Fault": "partial-url-404"}).json()["images"]
    assert http.get(first).status_code == 404
    assert [read_marker(http.get(url).content)["index"] for url in rest] == [2, 3]


def test_drop_closes_the_connection_mid_body(http: httpx.Client, stub: StubServer) -> None:
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        post(http, stub, body(), {"X-Stub-Fault": "drop"})
    assert stub.requests()[0]["status"] == 200  # the status line went out before the cut


def test_hang_outlasts_the_client_timeout(http: httpx.Client, stub: StubServer) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(stub.url, json=body(), headers={**AUTH, "X-Stub-Fault": "hang"}, timeout=0.5)


def test_a_hang_does_not_block_other_requests(http: httpx.Client) -> None:
    answers: list[int] = []
    with StubServer() as stub:

        def hang() -> None:
            answers.append(httpx.post(stub.url, json=body(), headers={**AUTH, "X-Stub-Fault": "hang"}, timeout=60).status_code)

        waiter = threading.Thread(target=hang)
        waiter.start()
        wait_for(stub.requests)
        assert post(http, stub, body(), {"X-Stub-Response-Format": "b64"}).status_code == 200
        assert waiter.is_alive() and answers == []  # answered while the other request still hangs
    waiter.join(10)
    assert answers == [503]  # stopping the server ended the hang


def test_stopping_the_server_ends_a_hang() -> None:
    answers: list[int] = []
    stub = StubServer(StubConfig(fault="hang")).start()

    def hang() -> None:
        answers.append(httpx.post(stub.url, json=body(), headers=AUTH, timeout=30).status_code)

    waiter = threading.Thread(target=hang)
    waiter.start()
    wait_for(stub.requests)
    stub.stop()
    waiter.join(30)
    assert answers == [503]  # the hang (which never ends by itself) was answered, before the client's timeout


def test_fault_precedence_queue_then_header_then_config(http: httpx.Client) -> None:
    with StubServer(StubConfig(fault="503")) as stub:
        stub.queue_faults(["500"])
        statuses = [
            post(http, stub, body(), {"X-Stub-Fault": "ok"}).status_code,  # the queue wins
            post(http, stub, body(), {"X-Stub-Fault": "ok"}).status_code,  # then the header
            post(http, stub, body()).status_code,  # then the configured default
        ]
    assert statuses == [500, 200, 503]


def test_the_fault_queue_over_http(http: httpx.Client, stub: StubServer) -> None:
    queued = http.post(f"{stub.base_url}/_stub/faults", json={"faults": ["503", "ok", "429"]})
    assert queued.json() == {"faults": ["503", "ok", "429"]}
    statuses = [post(http, stub, body()).status_code for _ in range(4)]
    assert statuses == [503, 200, 429, 200]
    assert http.get(f"{stub.base_url}/_stub/faults").json() == {"faults": []}


def test_unknown_fault_names_are_refused(http: httpx.Client, stub: StubServer) -> None:
    refused = http.post(f"{stub.base_url}/_stub/faults", json={"faults": ["503", "explode"]})
    assert_error(refused, 400, "INVALID_ARGUMENT")
    assert stub.state.queued_faults() == []
    with pytest.raises(ValueError, match="explode"):
        stub.queue_faults(["explode"])
    with pytest.raises(ValueError, match="explode"):
        StubConfig(fault="explode")


def test_every_fault_name_is_covered_here() -> None:
    covered = {*ERROR_FAULTS, "ok", "hang", "drop", "not-json", "no-images", "empty-images", "bad-image", "url-404",
               "partial-url-404"}  # fmt: skip
    assert covered == set(FAULTS)


# --- recording -----------------------------------------------------------------------------------------------


def test_every_request_is_recorded(http: httpx.Client, stub: StubServer) -> None:
    post(http, stub, body(), {"X-Stub-Token": "t1", "X-Other": "not recorded"})
    http.post(stub.url, json=body(size="huge"), headers=AUTH)
    http.post(stub.url, content=b"{", headers={"Content-Type": "application/json"})
    first, second, third = stub.requests()
    assert first["api_key"] == KEY and first["status"] == 200 and first["body"] == body()
    assert first["headers"] == {"content-type": "application/json", "x-stub-token": "t1"}
    assert isinstance(first["time"], float) and first["id"] != second["id"]
    assert (second["status"], second["body"]["size"]) == (400, "huge")
    assert (third["status"], third["body"], third["api_key"]) == (401, None, None)


def test_recordings_over_http_and_reset(http: httpx.Client, stub: StubServer) -> None:
    [url] = post(http, stub, body()).json()["images"]
    http.get(url)
    http.get(url)
    stub.queue_faults(["503"])
    listed = http.get(f"{stub.base_url}/_stub/requests").json()
    assert (len(listed["requests"]), listed["image_fetches"]) == (1, 2)
    assert listed["requests"][0]["status"] == 200

    cleared = http.delete(f"{stub.base_url}/_stub/requests")
    assert cleared.status_code == 200
    assert (stub.requests(), stub.image_fetches(), stub.state.queued_faults()) == ([], 0, [])
    assert post(http, stub, body(), {"X-Stub-Response-Format": "b64"}).status_code == 200  # the 503 is gone

    stub.queue_faults(["503"])
    stub.reset()
    assert (stub.requests(), stub.state.queued_faults()) == ([], [])


def test_latency_is_honoured(http: httpx.Client, stub: StubServer) -> None:
    started = time.perf_counter()
    response = post(http, stub, body(), {"X-Stub-Latency": "0.6", "X-Stub-Fault": "503"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert elapsed >= 0.55  # a lower bound holds however busy the machine is


# --- bounded memory ------------------------------------------------------------------------------------------

MB = 1024 * 1024


def big_reference(size: int, seed: int = 0) -> str:
    """A data URI of `size` bytes that sniff as PNG (the rest is noise): as costly to keep as a real photo."""
    noise = random.Random(seed).randbytes(size - 8)
    return "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + noise).decode("ascii")


def test_records_keep_the_last_requests_and_summarise_older_references(http: httpx.Client) -> None:
    references = [big_reference(300_000, seed) for seed in range(3)]
    with StubServer(StubConfig(max_records=4, whole_body_bytes=2 * MB)) as stub:
        prompts = [f"request {n}" for n in range(7)]
        for prompt in prompts:
            assert post(http, stub, body(prompt=prompt, image=references), {"X-Stub-Response-Format": "b64"}).status_code == 200
        records = stub.requests()
        listed = http.get(f"{stub.base_url}/_stub/requests").json()["requests"]

    assert [r["body"]["prompt"] for r in records] == prompts[-4:]  # the last four, oldest first
    assert [r["id"] for r in listed] == [r["id"] for r in records]
    newest, oldest = records[-1], records[0]
    assert newest["body"]["image"] == references  # the newest body is whole: tests can decode what was sent
    assert "compacted" not in newest
    assert oldest["compacted"] is True  # 4 bodies of ~1.2 MB do not fit in 2 MB: the older ones are summarised
    expected = [
        {"kind": "data-uri", "media_type": "image/png", "format": "png", "length": len(ref),
         "sha256": hashlib.sha256(ref.encode()).hexdigest()[:16]}
        for ref in references
    ]  # fmt: skip
    assert oldest["body"]["image"] == expected
    assert all(r["references"] == expected for r in records)  # every record has the summaries, whole or not
    assert (oldest["body"]["size"], oldest["status"]) == (SMALL, 200)


def test_a_long_prompt_is_summarised_when_its_record_is_compacted(http: httpx.Client) -> None:
    long_prompt = "a fox " * 100_000
    with StubServer(StubConfig(whole_body_bytes=0)) as stub:
        post(http, stub, body(prompt=long_prompt), {"X-Stub-Response-Format": "b64"})
        [record] = stub.requests()
    digest = hashlib.sha256(long_prompt.encode()).hexdigest()[:16]
    assert record["body"]["prompt"] == {"kind": "text", "length": 600_000, "sha256": digest, "start": long_prompt[:80]}
    assert record["body"]["size"] == SMALL


def test_memory_stays_flat_after_many_large_requests(http: httpx.Client) -> None:
    """The offline preview's leak: 14 large references per generation used to be kept forever."""
    references = [big_reference(250_000, seed) for seed in range(14)]  # ~4.7 MB of JSON per request
    payload = body(image=references)
    config = StubConfig(max_records=10, whole_body_bytes=8 * MB, max_stored_images=5, max_stored_image_bytes=4 * MB)
    with StubServer(config) as stub:
        for _ in range(10):
            assert post(http, stub, payload).status_code == 200
        gc.collect()
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            for _ in range(25):  # ~120 MB more sent; unbounded records would keep all of it
                assert post(http, stub, payload).status_code == 200
            gc.collect()
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        records = stub.requests()
        assert len(records) == 10
        assert stub.state.retained_bytes() <= 8 * MB
        assert sum("compacted" not in r for r in records) == 1  # only the newest body fits in 8 MB
        kept, kept_bytes = stub.state.stored_images()
        assert kept <= 5 and kept_bytes <= 4 * MB
    assert after - before < 40 * MB, f"grew {(after - before) / MB:.0f} MB over 25 requests"


def test_evicted_images_answer_410_and_unknown_ones_404(http: httpx.Client) -> None:
    with StubServer(StubConfig(max_stored_images=2)) as stub:
        urls = [post(http, stub, body(prompt=f"picture {n}")).json()["images"][0] for n in range(3)]
        statuses = [http.get(url).status_code for url in urls]
        gone = http.get(urls[0])
        never = http.get(urls[0].replace("/1-", "/9-"))
        forged = http.get(f"{stub.base_url}/_stub/images/1-{'0' * 20}.jpg")
    assert statuses == [410, 200, 200]
    assert "expired" in assert_error(gone, 410, "GONE")
    assert_error(never, 404, "NOT_FOUND")
    assert_error(forged, 404, "NOT_FOUND")


# --- hostile input: always a 4xx with a JSON error, never a 500 or a crash ---------------------------------


def post_raw(http: httpx.Client, stub: StubServer, raw: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return http.post(stub.url, content=raw, headers={**AUTH, "Content-Type": "application/json", **(headers or {})})


def test_a_body_over_the_cap_is_refused_with_413(http: httpx.Client) -> None:
    with StubServer(StubConfig(max_body_bytes=MB)) as stub:
        payload = body(image=[big_reference(800_000)])  # ~1.07 MB of JSON
        message = assert_error(post(http, stub, payload), 413, "PAYLOAD_TOO_LARGE")
        assert str(MB) in message
        assert post(http, stub, body()).status_code == 200  # the stand-in is still there
        assert [r["status"] for r in stub.requests()] == [413, 200]


def test_a_10_mb_prompt_is_refused_naming_the_prompt(http: httpx.Client, stub: StubServer) -> None:
    message = assert_error(post(http, stub, body(prompt="a fox " * 1_750_000)), 400, "INVALID_ARGUMENT")
    assert "prompt is 10500000 characters" in message


def test_a_1_mb_prompt_is_accepted_and_drawn_from_its_start(http: httpx.Client, stub: StubServer) -> None:
    prompt = "a red fox in the snow " * 45_000  # 990,000 characters
    [image] = fetch_images(http, post(http, stub, body(prompt=prompt), {"X-Stub-Response-Format": "b64"}))
    marker = read_marker(image)
    assert marker["prompt_truncated"] is True and prompt.startswith(marker["prompt"])
    assert dimensions(image) == (1920, 1920)


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"image": ["https://example.com/" + "a" * 1_000_000]}, "image[0]"),
        ({"image": [big_reference(10 * MB + 1)]}, "image[0]"),
        ({"size": "9" * 5000 + "x2048"}, "size"),
        ({"size": "\ud800x2048"}, "size"),
        ({"watermark": [[1, 2, 3]] * 1000}, "watermark"),
        ({"sequential_image_generation_options": {"max_images": 10**4000}}, "max_images"),
        ({"prompt": {"text": "a fox"}}, "prompt"),
    ],
    ids=["1-mb-url", "reference-over-10-mb", "size-5000-digits", "size-lone-surrogate", "watermark-big-list",
         "max-images-4000-digits", "prompt-object"],
)
def test_wrong_and_huge_values_are_refused_naming_the_field(
    http: httpx.Client, stub: StubServer, fields: dict[str, Any], field_name: str
) -> None:
    raw = json.dumps(body(**fields)).encode()  # json.dumps escapes the lone surrogate as \ud800, as a client would
    assert field_name in assert_error(post_raw(http, stub, raw), 400, "INVALID_ARGUMENT")
    assert http.get(f"{stub.base_url}/_stub/requests").status_code == 200  # what was received can be listed


def test_14_urls_of_the_longest_accepted_length_still_make_an_image(http: httpx.Client, stub: StubServer) -> None:
    url = "https://example.com/" + "a" * (8192 - len("https://example.com/"))
    [image] = fetch_images(http, post(http, stub, body(image=[url] * 14), {"X-Stub-Response-Format": "b64"}))
    assert [ref["host"] for ref in read_marker(image)["references"]] == ["example.com"] * 14


BAD_BODIES = {
    "not-utf-8": b'{"prompt": "a fox \xff\xfe in the snow"}',
    "utf-16": '{"prompt": "a fox"}'.encode("utf-16"),
    "nan": b'{"prompt": "a fox", "watermark": NaN}',
    "infinity": b'{"prompt": "a fox", "seed": -Infinity}',
    "float-overflow": b'{"prompt": "a fox", "seed": 1e999}',
    "int-5000-digits": b'{"prompt": "a fox", "seed": ' + b"9" * 5000 + b"}",
    "nested-100000": b"[" * 100_000 + b"]" * 100_000,
    "nested-40": b'{"prompt": "a fox", "extra": ' + b"[" * 40 + b"]" * 40 + b"}",
    "200000-values": b'{"prompt": "a fox", "extra": [' + b"0," * 200_000 + b"0]}",
    "truncated": b'{"prompt": "a fox", "size": "2K"',
    "empty": b"",
}


@pytest.mark.parametrize("raw", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bodies_that_are_no_json_object_are_refused(http: httpx.Client, stub: StubServer, raw: bytes) -> None:
    assert_error(post_raw(http, stub, raw), 400, "INVALID_ARGUMENT")
    [record] = http.get(f"{stub.base_url}/_stub/requests").json()["requests"]
    assert (record["status"], record["body"]) == (400, None)


def test_a_lone_surrogate_in_the_prompt_is_mended_as_the_api_would(http: httpx.Client, stub: StubServer) -> None:
    response = post_raw(http, stub, b'{"prompt": "a fox \\ud83d in the snow", "size": "1920x1920"}')
    assert response.status_code == 200
    [image] = fetch_images(http, response)
    assert read_marker(image)["prompt"] == "a fox \ufffd in the snow"
    assert http.get(f"{stub.base_url}/_stub/requests").json()["requests"][0]["body"]["prompt"] == "a fox \ufffd in the snow"


@pytest.mark.parametrize(
    ("header", "value"), [("X-Stub-Token", "t" * 300), ("X-Stub-Latency", "inf"), ("X-Stub-Latency", "nan")]
)
def test_out_of_range_control_headers_are_refused(http: httpx.Client, stub: StubServer, header: str, value: str) -> None:
    assert header in assert_error(post(http, stub, body(), {header: value}), 400, "INVALID_ARGUMENT")


JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12)
NEAR_VALID = st.fixed_dictionaries(
    {},
    optional={
        "prompt": st.text(max_size=40) | JSON_VALUES,
        "size": st.sampled_from(["2K", "4K", "1920x1920", "2048X2048", "1x1", "7681x480", ""]) | JSON_VALUES,
        "image": st.lists(st.sampled_from([PNG, f"data:image/png;base64,{PNG}", "https://example.com/a.png", "", "%"])
                          | JSON_VALUES, max_size=15) | JSON_VALUES,
        "watermark": st.booleans() | JSON_VALUES,
        "optimize_prompt_options": st.fixed_dictionaries({"mode": st.sampled_from(["standard", "fast", "slow"])})
        | JSON_VALUES,
        "sequential_image_generation": st.sampled_from(["auto", "disabled", "Auto"]) | JSON_VALUES,
        "sequential_image_generation_options": st.fixed_dictionaries({"max_images": st.integers(-2, 16)}) | JSON_VALUES,
    },
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(NEAR_VALID | JSON_VALUES)
def test_the_rules_refuse_any_json_with_invalid_argument_or_plan_it(value: Any) -> None:
    if not isinstance(value, dict):
        return
    try:
        plan = validate_body(value)
    except InvalidArgument as problem:
        assert problem.message and problem.field
    else:
        assert isinstance(plan.prompt, str) and plan.prompt.strip() and 1 <= plan.count <= 15


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(NEAR_VALID | JSON_VALUES)
def test_any_json_body_gets_200_or_a_4xx_with_a_json_error(http: httpx.Client, stub: StubServer, value: Any) -> None:
    response = post(http, stub, value, {"X-Stub-Response-Format": "b64"})
    if response.status_code == 200:
        assert len(response.json()["images"]) >= 1
    else:
        assert 400 <= response.status_code < 500
        assert set(response.json()) == {"code", "reason", "message"}


# --- the command line ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_command_line_serves_images_and_never_logs_the_key(http: httpx.Client) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "seedream_ui.stub_api", "--port", str(port), "--api-key", "cli-secret-42",
               "--response-format", "b64"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                http.get(f"{base}/_stub/requests", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "the stub CLI did not start"
                time.sleep(0.1)
        url = f"{base}/v3/seedream-4.5"
        response = http.post(url, json=body(), headers={"Authorization": "Bearer cli-secret-42"})
        [item] = response.json()["images"]
        assert dimensions(base64.b64decode(item)) == (1920, 1920)
        assert http.post(url, json=body(), headers=AUTH).status_code == 401
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"listening on {base}/v3/seedream-4.5" in output
    assert "curl" in output
    assert "cli-secret-42" not in output
    assert output.count("POST /v3/seedream-4.5") == 2
