"""Bad input, from random to nasty: every value is either sent correctly or refused, before any request,
with a message a person can act on, and the page keeps what the visitor had.

- Our validator against the stand-in's rules (written independently from the API reference): for random
  request dicts, `GenerateRequest(...).validated()` accepts exactly when the API would answer 200, apart from
  the documented cases below.
- The page's generate handler, fed random widget values, never sends a request the API rejects and never
  falls back to the "something went wrong on our side" message (which would mean a bug).
- A named list of nasty files and prompts through the running app (gradio_client), and in Chromium.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from seedream_ui.backend import Backend
from seedream_ui.client import SeedreamClient
from seedream_ui.config import Settings
from seedream_ui.errors import ValidationError
from seedream_ui.request import GenerateRequest
from seedream_ui.stub_api import InvalidArgument, StubServer, validate_body
from seedream_ui.ui import GALLERY_REFUSAL, build_demo
from tests.images import b64, image_bytes, png_bomb, with_orientation
from tests.support import ARTIFACTS, SMALL, RunningApp, generate_inputs, running_app, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

KEY = "server-key-bad-input"
BUG_MESSAGE = "Something went wrong on our side"


PNG, JPEG, GIF = (b64(image_bytes(fmt, (16, 16))) for fmt in ("PNG", "JPEG", "GIF"))
TEXT = b64(b"meeting notes, not a picture")


# ============================================================================================================
# 1. Our validator against the stand-in's rules
# ============================================================================================================

# Where the two may legitimately differ. Each one is listed in docs/reliability.md.
STRICTER = {
    # We refuse, the API would take it:
    "max_images without a sequence": "max_images is set but sequential_image_generation is not 'auto' "
    "(the API ignores it; we say so instead of silently dropping the user's choice)",
    "invisible prompt": "the prompt is only control characters or zero-width/format characters "
    "(the API only trims white space; such a prompt asks for nothing)",
}
NORMALISED = {
    # We accept by sending a canonical form; the raw value would be refused:
    "size spelling": "size in another spelling: 2k, 4k, ' 2K', 2048X2048, '2048 x 2048', 2048×2048, 2048*2048, "
    "02048x2048 (sent canonical: 2K, 2048x2048)",
    "padded reference": "a reference URL or Base64 with spaces around it (sent trimmed)",
    "relabelled data URI": "a data URI of an image labelled application/octet-stream, text/plain or nothing "
    "(judged by its content and sent as data:image/<format>;base64,...)",
    "whole float max_images": "max_images given as a whole float such as 3.0 (sent as the integer 3)",
}

REFERENCES = st.sampled_from([
    "https://example.com/a.png", "http://example.com/b.jpg", "HTTPS://EXAMPLE.COM/C.PNG",
    " https://example.com/padded.png ", "http://", "http://:80/x", "https://[::1", "https://exa mple.com/x",
    "ftp://example.com/a.png", "example.com/a.png",
    f"data:image/png;base64,{PNG}", f"data:image/jpeg;base64,{JPEG}", f"data:image/gif;base64,{GIF}",
    f"data:image/jpeg;base64,{PNG}", f"DATA:IMAGE/PNG;BASE64,{PNG}", f"data:image/png;charset=utf-8;base64,{PNG}",
    f"data:text/plain;base64,{PNG}", f"data:;base64,{PNG}", f"data:image/png,{PNG}", f"data:image/x_png;base64,{PNG}",
    PNG, JPEG, TEXT, PNG.rstrip("="), PNG[:-8], PNG[:20] + "\n" + PNG[20:], f" {PNG} ", "", "   ",
])  # fmt: skip
SIZES = st.one_of(
    st.sampled_from([
        "2K", "4K", "2k", "4k", " 2K", "2048x2048", "1920x1920", "4096x4096", "16384x1024", "1024x16384",
        "2048X2048", "2048 x 2048", "2048×2048", "2048*2048", "02048x2048", "0x0", "1919x1920", "4097x4096",
        "16385x1024", "15360x240", "1x3686400", "", "big", "2048x", "-2048x2048", "3.5x2", "2048x2048px",
    ]),
    st.builds("{}x{}".format, st.integers(1, 20_000), st.integers(1, 20_000)),
    st.text(max_size=12),
)  # fmt: skip
PROMPTS = st.one_of(
    st.sampled_from(["a fox", "", " ", "\n\t", "\x00", "\x00a", "\u200b", "\u200b\u200e", " a fox ", "一只狐狸", "🦊",
                     "\u3000", "\u00a0", "a\u0000b", "\ufeff"]),
    st.text(max_size=20),
)  # fmt: skip
REQUEST_DICTS = st.fixed_dictionaries(
    {"prompt": PROMPTS},
    optional={
        "size": SIZES,
        "images": st.one_of(st.none(), st.lists(REFERENCES, max_size=16).map(tuple), st.lists(REFERENCES, max_size=3)),
        "watermark": st.sampled_from([True, False, 0, 1, None, "true"]),
        # Not "fast": the stand-in takes the router's schema ("standard" or "fast"); we refuse "fast" on purpose
        # (Seedream 4.5 supports only "standard"), tested on its own in the table of refusals below.
        "optimize_prompt_mode": st.sampled_from([None, "", "standard", "turbo", "Fast"]),
        "sequential_image_generation": st.sampled_from(["auto", "disabled", "", "AUTO", None]),
        "max_images": st.one_of(st.none(), st.integers(-2, 17), st.sampled_from([3.0, 2.5, True, False, "3"])),
    },
)


def stand_in_rules(payload: dict[str, Any]) -> str | None:
    """The stand-in's verdict on a body, in-process: None for 200, else its 400 message."""
    try:
        validate_body(json.loads(json.dumps(payload)))  # what goes over the wire
    except InvalidArgument as problem:
        return problem.message
    return None


def invisible(prompt: object) -> bool:
    """Non-blank to the API (it only trims white space), but nothing a model could read."""
    return (
        isinstance(prompt, str)
        and bool(prompt.strip())
        and all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in prompt)
    )


def documented_differences(fields: dict[str, Any], accepted: bool) -> tuple[list[str], dict[str, Any]]:
    """The documented cases present in `fields`, and the fields with those cases taken out."""
    cases: list[str] = []
    fixed = dict(fields)
    if not accepted:
        if fields.get("max_images") is not None and fields.get("sequential_image_generation", "disabled") != "auto":
            cases.append("max_images without a sequence")
            fixed["max_images"] = None
        if invisible(fields["prompt"]):
            cases.append("invisible prompt")
            fixed["prompt"] = "a fox"
        return cases, fixed
    ours = GenerateRequest(**fields).validated()
    if "size" in fields and fields["size"] != ours.size:
        cases.append("size spelling")
        fixed["size"] = ours.size
    if any(isinstance(item, str) and item != item.strip() for item in fields.get("images") or ()):
        cases.append("padded reference")
        fixed["images"] = ours.images
    trimmed = [item.strip() for item in fields.get("images") or ()]
    if any(raw.lower().startswith("data:") and raw != sent for raw, sent in zip(trimmed, ours.images, strict=True)):
        cases.append("relabelled data URI")
        fixed["images"] = ours.images
    if isinstance(fields.get("max_images"), float):
        cases.append("whole float max_images")
        fixed["max_images"] = ours.max_images
    return cases, fixed


def check_agreement(fields: dict[str, Any], api_verdict: Any) -> None:
    raw = GenerateRequest(**fields)
    try:
        ours = raw.validated()
    except ValidationError as refusal:
        accepted, why = False, refusal.message
        assert len(why) > 15 and why.endswith(".")  # a sentence, not an exception name
    else:
        accepted, why = True, ""
        # Soundness: whatever we send, the API takes.
        sent = api_verdict(ours.to_payload())
        assert sent is None, f"we sent {ours.to_payload()!r} and the API said: {sent}"
    raw_verdict = api_verdict(raw.to_payload())
    note(f"ours: {'accepted' if accepted else why}; the API on the raw body: {raw_verdict or 200}")
    if accepted == (raw_verdict is None):
        return
    # A disagreement must be one of the documented cases, and taking those out must end it.
    cases, fixed = documented_differences(fields, accepted)
    note(f"documented cases: {cases}")
    assert cases, "an undocumented disagreement between our validator and the API's rules"
    if accepted:
        assert all(case in NORMALISED for case in cases)
        assert api_verdict(GenerateRequest(**fixed).to_payload()) is None
    else:
        assert all(case in STRICTER for case in cases)
        GenerateRequest(**fixed).validated()  # raises if we refused for an undocumented reason


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=REQUEST_DICTS)
@example(fields={"prompt": "a fox", "images": ("http://:80/x",)})
@example(fields={"prompt": "a fox", "images": ("https://[::1",)})
@example(fields={"prompt": "a fox", "images": (f"data:text/plain;base64,{PNG}",)})
@example(fields={"prompt": "a fox", "images": (f"data:;base64,{PNG}",)})
@example(fields={"prompt": "\u200b", "size": "2K"})
@example(fields={"prompt": "a fox", "max_images": 3})
def test_our_validator_accepts_exactly_what_the_api_rules_accept(fields: dict[str, Any]) -> None:
    check_agreement(fields, stand_in_rules)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(fields=REQUEST_DICTS.filter(lambda d: d.get("max_images") in (None, 1, 2) and d.get("size") not in ("4K", "4k")))
@example(fields={"prompt": "a fox", "images": ("https://[::1",)})
def test_our_validator_agrees_with_the_stand_in_over_http(
    fields: dict[str, Any], stub_server: StubServer, http: httpx.Client
) -> None:
    def over_http(payload: dict[str, Any]) -> str | None:
        response = http.post(
            stub_server.url, content=json.dumps(payload).encode(), headers={"Authorization": f"Bearer {KEY}",
                                                                          "Content-Type": "application/json"},
        )  # fmt: skip
        assert response.status_code in (200, 400), response.text  # never a crash of the stand-in
        return None if response.status_code == 200 else response.json()["message"]

    check_agreement(fields, over_http)


# ============================================================================================================
# 2. The page's generate handler, fed random widget values
# ============================================================================================================


TINY_RESULT = b64(image_bytes("PNG", (16, 16)))


class StandInTransport(httpx.AsyncBaseTransport):
    """Answers like the API (the stand-in's own rules) without drawing anything; records what arrived."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(await request.aread())
        self.bodies.append(body)
        problem = stand_in_rules(body) if isinstance(body, dict) else "not an object"
        if problem:
            return httpx.Response(400, json={"code": 400, "reason": "INVALID_ARGUMENT", "message": problem})
        count = body.get("sequential_image_generation_options", {}).get("max_images", 1)
        count = count if body.get("sequential_image_generation") == "auto" else 1
        return httpx.Response(200, json={"images": [TINY_RESULT] * count})


@dataclass
class Handler:
    fn: Any
    outputs: list[Any]  # the components its returned dict is keyed by, in the endpoint's order
    transport: StandInTransport
    files: dict[str, str]
    demo: gr.Blocks

    def call(self, *arguments: Any) -> list[Any]:
        returned = asyncio.run(self.fn(*arguments))
        return [returned.get(component) for component in self.outputs]


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><circle cx="50" cy="50" r="40"/></svg>'


def noise_png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def nasty_files(folder: Path) -> dict[str, str]:
    """Small versions of the awkward files people upload, written once."""
    files: dict[str, bytes] = {
        "good.png": image_bytes("PNG", (64, 48)),
        "good.jpg": image_bytes("JPEG", (64, 48)),
        "cmyk.jpg": image_bytes("JPEG", (64, 48), mode="CMYK"),
        "deep.png": image_bytes("PNG", (64, 48), mode="I;16"),
        "tiny.png": image_bytes("PNG", (10, 10)),
        "strip.png": image_bytes("PNG", (400, 20)),
        "notes.png": b"meeting notes\n",
        "empty.png": b"",
        "truncated.png": noise_png((120, 90))[:900],
        "drawing.svg": SVG,
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: str(folder / name) for name in files}


@pytest.fixture(scope="module")
def handler(tmp_path_factory: pytest.TempPathFactory) -> Handler:
    """The real generate handler of the page, on a backend whose HTTP goes to StandInTransport."""
    transport = StandInTransport()
    settings_ = Settings(api_key=KEY, api_url="http://api.invalid/v3/seedream-4.5", max_retries=0)
    client = SeedreamClient.from_settings(settings_, http_client=httpx.AsyncClient(transport=transport))
    backend = Backend(settings_, client, tmp_path_factory.mktemp("handler-outputs"))
    demo = build_demo(settings_, backend)
    endpoint = next(f for f in demo.fns.values() if f.api_name == "generate")
    return Handler(endpoint.fn, endpoint.outputs, transport, nasty_files(tmp_path_factory.mktemp("handler-files")), demo)


URL_LINES = st.lists(
    st.sampled_from(["https://example.com/a.png", "  http://example.com/b.jpg  ", "", "example.com/x.png",
                     "http://:80/x", "https://exa mple.com/x", "ftp://x/y", "https://[::1"]),
    max_size=4,
).map("\n".join)  # fmt: skip
HANDLER_INPUTS = st.fixed_dictionaries({
    "prompt": st.one_of(PROMPTS, st.none(), st.text(min_size=1, max_size=40)),
    "size": st.one_of(SIZES, st.none()),
    "files": st.lists(st.sampled_from(["good.png", "good.jpg", "cmyk.jpg", "deep.png", "tiny.png", "strip.png",
                                       "notes.png", "empty.png", "truncated.png", "drawing.svg"]), max_size=4),
    "image_urls": st.one_of(URL_LINES, st.none()),
    "watermark": st.one_of(st.booleans(), st.none()),
    "optimize_prompt_mode": st.sampled_from(["standard", "fast", None, ""]),
    "sequential_image_generation": st.sampled_from(["disabled", "auto", None, ""]),
    "max_images": st.one_of(st.none(), st.floats(-3, 20, allow_nan=False), st.integers(-3, 20)),
    "api_key": st.sampled_from(["", "  ", "visitor-key-1", "key with spaces", "clé-non-ascii", None]),
})  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=HANDLER_INPUTS)
@example(values={"prompt": "a fox", "size": SMALL, "files": [], "image_urls": "https://[::1", "watermark": True,
          "optimize_prompt_mode": "standard", "sequential_image_generation": "disabled", "max_images": 4,
          "api_key": ""})  # fmt: skip
@example(values={"prompt": "a fox\ud800", "size": SMALL, "files": [], "image_urls": "", "watermark": True,
          "optimize_prompt_mode": "standard", "sequential_image_generation": "disabled", "max_images": 4,
          "api_key": ""})  # fmt: skip
def test_the_generate_handler_sends_a_valid_request_or_refuses_before_sending(
    handler: Handler, values: dict[str, Any]
) -> None:
    before = len(handler.transport.bodies)
    # As the endpoint receives it (it takes the raw values, not Gradio's preprocessed ones).
    gallery = [{"image": {"path": handler.files[name]}, "caption": None} for name in values["files"]] or None
    arguments = (
        values["prompt"], values["size"], gallery, values["image_urls"], values["watermark"],
        values["optimize_prompt_mode"], values["sequential_image_generation"], values["max_images"],
        values["api_key"], [],
    )  # fmt: skip
    try:
        results, _, status, history, *_ = handler.call(*arguments)
    except gr.Error as refusal:
        message = str(refusal.message)
        note(f"refused: {message}")
        assert BUG_MESSAGE not in message, "an input reached a bug instead of a message"
        assert len(message) > 15 and message.rstrip().endswith((".", ")"))  # a sentence to act on
        assert len(handler.transport.bodies) == before, "refused, but a request went out first"
        return
    sent = handler.transport.bodies[before:]
    assert len(sent) == 1
    assert stand_in_rules(sent[0]) is None
    assert status.startswith("✓") and len(results) >= 1 and len(history) == 1


# Wrong types and sizes on /generate: each refused with its own message, never coerced, nothing sent.
# (parameter, value sent, the message, extra fields the case needs)
WRONG_VALUES: list[tuple[str, Any, str, dict[str, Any]]] = [
    ("watermark", "false", "watermark must be true or false, not text.", {}),
    ("watermark", None, "watermark must be true or false, not null.", {}),
    ("watermark", 0, "watermark must be true or false, not a number.", {}),
    ("max_images", 2.5, "max_images must be a whole number of at least 1, not 2.5.", {"sequential_image_generation": "auto"}),
    ("max_images", 2.5, "max_images must be a whole number of at least 1, not 2.5.", {}),
    ("max_images", "3", "max_images must be a whole number of at least 1, not '3'.", {"sequential_image_generation": "auto"}),
    ("max_images", [3], "max_images must be a whole number of at least 1, not [3].", {"sequential_image_generation": "auto"}),
    ("max_images", True, "max_images must be a whole number of at least 1, not True.", {"sequential_image_generation": "auto"}),
    ("max_images", 1e300, "with 0 reference image(s) exceeds Seedream's limit of 15 images in all; use at most 15.",
     {"sequential_image_generation": "auto"}),
    ("size", "١٩٢٠x١٩٢٠", "Size '١٩٢٠x١٩٢٠' is not understood; use 2K, 4K or width x height such as 2048x2048.", {}),
    ("size", None, "Size must be text such as 2048x2048, not null.", {}),
    ("size", [2048, 2048], "Size must be text such as 2048x2048, not a list.", {}),
    ("size", "9" * 100_000, "Size is 100,000 characters long; use 2K, 4K or width x height such as 2048x2048.", {}),
    ("prompt", 5, "The prompt must be text, not a number.", {}),
    ("prompt", ["a fox"], "The prompt must be text, not a list.", {}),
    ("prompt", {"text": "a fox"}, "The prompt must be text, not an object.", {}),
    ("prompt", None, "The prompt must be text, not null.", {}),
    ("prompt", "a" * 20_001, ("The prompt is 20,001 characters long; the limit is 20,000 (Seedream recommends at "
     "most 600 words or 300 Chinese characters)."), {}),
    ("image_urls", 5, "Reference image URLs must be text, one URL per line, not a number.", {}),
    ("image_urls", ["https://example.com/a.png"], "Reference image URLs must be text, one URL per line, not a list.", {}),
    ("image_urls", "\n" * 100 + "https://example.com/a.png", ("The URL box has 101 lines; at most 100 are read "
     "(and at most 14 reference images are used)."), {}),
    ("image_urls", "https://example.com/" + "a" * 9000, "The URL on line 1 is 9,020 characters long; the limit is 8,192.",
     {}),
    ("optimize_prompt_mode", ["fast"], "Prompt optimisation mode ['fast'] is not one of: standard.", {}),
    ("optimize_prompt_mode", "turbo", "Prompt optimisation mode 'turbo' is not one of: standard.", {}),
    ("optimize_prompt_mode", "fast", ("Prompt optimisation mode 'fast' is Seedream 4.0's; Seedream 4.5 supports only "
     "'standard'. Use 'standard' or leave it out."), {}),
    ("sequential_image_generation", None, "sequential_image_generation must be 'auto' or 'disabled', not None.", {}),
    ("sequential_image_generation", 1, "sequential_image_generation must be 'auto' or 'disabled', not 1.", {}),
    ("api_key", 5, "The API key must be text, not a number.", {}),
    ("api_key", ["key"], "The API key must be text, not a list.", {}),
    ("api_key", "k" * 5000, "The API key is 5,000 characters long; keys are at most 1,024.", {}),
]  # fmt: skip
WRONG_IDS = [f"{name}={value!r:.24}" + ("+auto" if extra else "") for name, value, _, extra in WRONG_VALUES]
# Malformed gallery values: Gradio checks them before our handler, so over HTTP they get one message; called
# directly, the handler names the item.
WRONG_GALLERIES: list[tuple[Any, str]] = [
    ("not-a-list", GALLERY_REFUSAL),
    ({"image": {"path": "x.png"}}, GALLERY_REFUSAL),
    (["x.png"], "Reference image 1 is not an uploaded image file."),
    ([{"image": 5}], "Reference image 1 is not an uploaded image file."),
    ([{}], "Reference image 1 is not an uploaded image file."),
    ([[1, 2]], "Reference image 1 is not an uploaded image file."),
]


def handler_arguments(**fields: Any) -> list[Any]:
    values = generate_inputs(**fields)
    return [values[name] for name in GENERATE_PARAMETERS] + [[]]


GENERATE_PARAMETERS = list(generate_inputs())


@pytest.mark.parametrize(("name", "value", "says", "extra"), WRONG_VALUES, ids=WRONG_IDS)
def test_the_handler_refuses_a_wrong_value_with_its_own_message(
    handler: Handler, name: str, value: Any, says: str, extra: dict[str, Any]
) -> None:
    before = len(handler.transport.bodies)
    with pytest.raises(gr.Error) as caught:
        handler.call(*handler_arguments(**({name: value} | extra)))
    assert says in str(caught.value.message)
    assert caught.value.title == "Check your input"
    assert len(handler.transport.bodies) == before


@pytest.mark.parametrize(("value", "says"), WRONG_GALLERIES, ids=[repr(v)[:20] for v, _ in WRONG_GALLERIES])
def test_the_handler_refuses_a_malformed_gallery_value(handler: Handler, value: Any, says: str) -> None:
    with pytest.raises(gr.Error) as caught:
        handler.call(*handler_arguments(image=value))
    assert str(caught.value.message) == says


@pytest.mark.parametrize(("name", "value", "says", "extra"), WRONG_VALUES, ids=WRONG_IDS)
def test_over_http_a_wrong_value_is_refused_with_its_own_message_and_nothing_is_sent(
    client: Client, stub: StubServer, name: str, value: Any, says: str, extra: dict[str, Any]
) -> None:
    with pytest.raises(AppError) as caught:
        client.predict(**generate_inputs(**({name: value} | extra)), api_name="/generate")
    assert says in caught.value.message
    assert caught.value.title == "Check your input"
    assert stub.requests() == []


@pytest.mark.parametrize("value", [v for v, _ in WRONG_GALLERIES], ids=[repr(v)[:20] for v, _ in WRONG_GALLERIES])
def test_over_http_a_malformed_gallery_value_gets_a_message_not_a_validator_report(
    client: Client, stub: StubServer, value: Any
) -> None:
    with pytest.raises(AppError) as caught:
        client.predict(**generate_inputs(image=value), api_name="/generate")
    assert caught.value.message == GALLERY_REFUSAL
    assert "pydantic" not in caught.value.message and "validation error" not in caught.value.message
    assert stub.requests() == []


def test_a_click_on_a_history_entry_that_is_gone_shows_nothing_new(handler: Handler) -> None:
    demo_fns = handler.demo.fns.values()
    on_history = next(f.fn for f in demo_fns if f.fn is not None and f.fn.__name__ == "on_history")
    for index in (5, -1, "0", None, [0]):
        event = gr.SelectData(None, {"index": index, "value": None, "selected": True})  # type: ignore[arg-type]
        assert on_history([], event) == gr.skip()


# ============================================================================================================
# 3. Named nasty files and prompts, through the running app
# ============================================================================================================


def huge_gif(side: int = 2400, frames: int = 40) -> bytes:
    """2400x2400, 40 frames: 230 million pixels of animation in a file of a few hundred KB."""
    palette = [c for k in range(256) for c in ((k * 37) % 256, (k * 91) % 256, (k * 13) % 256)]
    images = []
    for i in range(frames):
        frame = Image.new("P", (side, side), i)
        frame.putpalette(palette)
        ImageDraw.Draw(frame).rectangle([i * 50, i * 50, i * 50 + 400, i * 50 + 400], fill=255 - i)
        images.append(frame)
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=50, loop=0, optimize=False)
    return buffer.getvalue()


def exif_rotated_jpeg() -> bytes:
    """Stored 60 wide x 40 high; EXIF orientation 6 says: show it turned, 40 wide x 60 high."""
    image = Image.new("RGB", (60, 40), (10, 120, 240))
    ImageDraw.Draw(image).rectangle([0, 0, 20, 10], fill=(250, 250, 0))
    return with_orientation(image, 6)


UPLOAD_LIMIT_MB = 2.0


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("nasty-files")
    paths = nasty_files(folder)
    extra = {
        "bomb.png": png_bomb(30_000, 30_000),  # 1-bit zeros: ~0.5 MB on disk, 900 megapixels decoded
        "huge.gif": huge_gif(),
        "rotated.jpg": exif_rotated_jpeg(),
        "over-limit.png": noise_png((900, 900)),  # ~2.4 MB of noise: over the 2 MB limit set below
    }
    for name, data in extra.items():
        (folder / name).write_bytes(data)
        paths[name] = str(folder / name)
    for index in range(100):
        name = f"many-{index:03}.png"
        (folder / name).write_bytes(image_bytes("PNG", (16 + index % 7, 16)))
        paths[name] = str(folder / name)
    assert Path(paths["over-limit.png"]).stat().st_size > UPLOAD_LIMIT_MB * 1024 * 1024
    return paths


@pytest.fixture(scope="module")
def app(stub_server: StubServer) -> Iterator[RunningApp]:
    settings_ = Settings(api_key=KEY, api_url=stub_server.url, max_retries=0, max_upload_mb=UPLOAD_LIMIT_MB)
    with running_app(settings_) as running:
        yield running


def generate(client: Client, prompt: str = "combine these", uploads: list[str] = (), **fields: Any) -> tuple[Any, ...]:  # type: ignore[assignment]
    images = [{"image": handle_file(path), "caption": None} for path in uploads]
    return client.predict(**generate_inputs(prompt, **({"image": images} | fields)), api_name="/generate")


def sent_reference(stub: StubServer, index: int = 0) -> Image.Image:
    """The reference image as the API received it, decoded."""
    value = stub.requests()[-1]["body"]["image"][index]
    assert value.startswith("data:image/")
    return Image.open(io.BytesIO(base64.b64decode(value.split(",", 1)[1])))


# (file, what the refusal says, its title). Our own refusals are titled "Check your input". In the page an SVG
# is stopped earlier by the gallery's file_types; /generate takes raw values, so over the API ours says why.
REFUSED_FILES = [
    ("empty.png", "empty.png is empty.", "Check your input"),
    ("truncated.png", "truncated.png could not be read as an image (it may be truncated or corrupt).",
     "Check your input"),
    ("notes.png", "notes.png is not an image Seedream accepts (jpeg, png, webp, bmp, tiff, gif)", "Check your input"),
    ("drawing.svg", "drawing.svg is not an image Seedream accepts (jpeg, png, webp, bmp, tiff, gif)", "Check your input"),
    ("bomb.png", "bomb.png is 30000x30000 (900 megapixels); the largest PNG image accepted is 64 megapixels (JPEG up to 120).",
     "Check your input"),
    ("tiny.png", "tiny.png is 10x10 pixels; Seedream needs each side to be at least 15 pixels.", "Check your input"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "says", "title"), REFUSED_FILES, ids=[case[0] for case in REFUSED_FILES])
def test_a_file_seedream_cannot_use_is_refused_by_name_before_any_request(
    client: Client, stub: StubServer, files: dict[str, str], name: str, says: str, title: str | None
) -> None:
    with pytest.raises(AppError) as caught:
        generate(client, uploads=[files["good.png"], files[name]])
    assert says in str(caught.value)
    if title:
        assert caught.value.title == title
    assert BUG_MESSAGE not in str(caught.value)
    assert stub.requests() == []


def test_a_cmyk_jpeg_is_sent_as_rgb(client: Client, stub: StubServer, files: dict[str, str]) -> None:
    _, _, status = generate(client, uploads=[files["cmyk.jpg"]])
    assert status.startswith("✓")
    sent = sent_reference(stub)
    assert (sent.format, sent.mode, sent.size) == ("JPEG", "RGB", (64, 48))
    assert [r["status"] for r in stub.requests()] == [200]


def test_a_16_bit_png_is_sent_as_8_bit(client: Client, stub: StubServer, files: dict[str, str]) -> None:
    generate(client, uploads=[files["deep.png"]])
    sent = sent_reference(stub)
    assert sent.mode in ("L", "RGB") and sent.size == (64, 48)
    assert [r["status"] for r in stub.requests()] == [200]


def test_an_exif_rotated_photo_is_sent_upright(client: Client, stub: StubServer, files: dict[str, str]) -> None:
    generate(client, uploads=[files["rotated.jpg"]])
    sent = sent_reference(stub)
    assert sent.size == (40, 60)  # turned as the camera said, so the model sees what the person saw
    assert sent.getexif().get(0x0112, 1) == 1
    assert [r["status"] for r in stub.requests()] == [200]


def test_a_huge_animated_gif_is_sent_as_its_first_frame(client: Client, stub: StubServer, files: dict[str, str]) -> None:
    generate(client, uploads=[files["huge.gif"]])
    sent = sent_reference(stub)
    assert not getattr(sent, "is_animated", False)
    assert sent.size == (2400, 2400)
    assert [r["status"] for r in stub.requests()] == [200]


@pytest.mark.parametrize("count", [15, 100])
def test_too_many_uploads_are_refused_before_any_request(
    client: Client, stub: StubServer, files: dict[str, str], count: int
) -> None:
    uploads = [files[f"many-{index:03}.png"] for index in range(count)]
    with pytest.raises(AppError) as caught:
        generate(client, uploads=uploads)
    assert str(caught.value) == (
        f"{count} reference images given ({count} uploaded, 0 URLs); Seedream takes at most 14. Remove {count - 14}."
    )
    assert stub.requests() == []


def test_fourteen_uploads_are_all_sent(client: Client, stub: StubServer, files: dict[str, str]) -> None:
    generate(client, uploads=[files[f"many-{index:03}.png"] for index in range(14)])
    assert len(stub.requests()[-1]["body"]["image"]) == 14


def test_a_file_over_the_upload_limit_never_reaches_the_handler(
    app: RunningApp, client: Client, stub: StubServer, files: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # gradio_client checks first
        generate(client, uploads=[files["over-limit.png"]])
    # And the server enforces it too, for clients that do not check (browsers, curl).
    with open(files["over-limit.png"], "rb") as handle:
        response = httpx.post(f"{app.url}gradio_api/upload", files={"files": ("over-limit.png", handle)}, timeout=30)
    assert response.status_code == 413
    assert "maximum allowed size" in response.text
    assert stub.requests() == []


# (prompt typed, prompt the API must receive)
SENT_PROMPTS = [
    ("🦊🌲❄️ a fox in the snow 🦊", "🦊🌲❄️ a fox in the snow 🦊"),
    ("ثعلب أحمر في الثلج", "ثعلب أحمر في الثلج"),
    ("שועל אדום בשלג, mixed with English", "שועל אדום בשלג, mixed with English"),
    ("a fox\x00\x07 in\x1b the snow\x7f", "a fox in the snow"),  # control characters mean nothing to the model
    ("一只红狐狸在雪地里读地图", "一只红狐狸在雪地里读地图"),
]


@pytest.mark.parametrize(("typed", "received"), SENT_PROMPTS, ids=["emoji", "arabic", "hebrew", "control", "chinese"])
def test_unusual_prompts_reach_the_api_as_the_person_meant_them(
    client: Client, stub: StubServer, typed: str, received: str
) -> None:
    results, _, status = generate(client, prompt=typed)
    assert status.startswith("✓ 1 image")
    assert stub.requests()[-1]["body"]["prompt"] == received
    assert len(results) == 1


def test_a_2000_word_prompt_is_sent_whole_with_one_warning(client: Client, stub: StubServer) -> None:
    prompt = " ".join(f"word{index}" for index in range(2_000))  # 16,890 characters: under the 20,000 cap
    _, _, status = generate(client, prompt=prompt)
    assert status.startswith("✓ 1 image")
    assert status.count("⚠ The prompt is long (2,000 words") == 1 and "may ignore the rest" in status
    assert stub.requests()[-1]["body"]["prompt"] == prompt


@pytest.mark.parametrize("blank", ["", "   ", "\n\n\t", "\u200b\u200b", "\x00\x01"], ids=repr)
def test_a_blank_prompt_is_refused_before_any_request(client: Client, stub: StubServer, blank: str) -> None:
    with pytest.raises(AppError, match=re.escape("Write a prompt first: describe the image you want.")):
        generate(client, prompt=blank)
    assert stub.requests() == []


# ============================================================================================================
# 4. In the browser: the page keeps what the visitor had
# ============================================================================================================


@pytest.mark.browser
def test_in_the_browser_refused_input_leaves_the_page_as_it_was(
    app: RunningApp, stub: StubServer, files: dict[str, str], page: Page
) -> None:
    from playwright.sync_api import expect

    page.fill("#prompt textarea", "a teapot in the style of the sketch")
    page.fill("#size textarea, #size input", SMALL)
    page.locator("#references input[type=file]").set_input_files([files["good.png"], files["good.jpg"]])
    expect(page.locator("#references")).to_contain_text("(2 / 14)", timeout=15_000)
    page.click("#generate")
    expect(page.locator("#results img")).to_have_count(1, timeout=20_000)

    # 13 more uploads would make 15: refused with a warning, the two kept.
    page.locator("#references input[type=file]").set_input_files(
        [files[f"many-{index:03}.png"] for index in range(13)]
    )
    expect(page.locator('[data-testid="toast-body"]').last).to_contain_text("at most 14", timeout=15_000)
    expect(page.locator("#references")).to_contain_text("(2 / 14)")

    # A blank prompt: refused, and the references and results stay.
    page.fill("#prompt textarea", "   ")
    page.click("#generate")
    expect(page.locator('[data-testid="toast-body"].error').last).to_contain_text(
        "Write a prompt first", timeout=15_000
    )
    expect(page.locator("#results img")).to_have_count(1)
    expect(page.locator("#references")).to_contain_text("(2 / 14)")
    screenshot(page, ARTIFACTS / "bad-input-page-kept.png")
    assert [r["status"] for r in stub.requests()] == [200]  # only the one good generation went out
    assert len(stub.requests()[0]["body"]["image"]) == 2
