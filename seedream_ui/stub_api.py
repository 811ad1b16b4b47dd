"""A local stand-in for the Seedream 4.5 HTTP API: real HTTP, real validation, injectable faults.

Tests, benchmarks and the offline preview talk to it instead of the paid endpoint. Its validation is written
straight from the API reference page, independently of seedream_ui/request.py, so that contract tests catch a
bug in our client-side validator instead of mirroring it. Run it with `python -m seedream_ui.stub_api --help`.

    with StubServer(StubConfig(latency=0.0)) as stub:
        httpx.post(stub.url, headers={"Authorization": "Bearer k"}, json={"prompt": "a fox"})
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextvars
import copy
import hmac
import itertools
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seedream_ui.formats import sniff_format
from seedream_ui.stub_images import PictureSet, Reference, read_marker, render_set

__all__ = [
    "ENDPOINT_PATH",
    "FAULTS",
    "IMAGE_FORMATS",
    "RESPONSE_FORMATS",
    "StubConfig",
    "StubServer",
    "StubState",
    "create_app",
    "main",
    "read_marker",
]

ENDPOINT_PATH = "/v3/seedream-4.5"
IMAGES_PATH = "/_stub/images"
FAULTS: tuple[str, ...] = (
    "ok", "400", "content-policy", "401", "403", "429", "429-no-retry-after", "500", "502", "503", "504",
    "hang", "drop", "not-json", "no-images", "empty-images", "bad-image", "url-404", "partial-url-404",
)  # fmt: skip
RESPONSE_FORMATS: tuple[str, ...] = ("url", "b64", "data-uri", "object-url", "object-b64", "mixed")
_MIXED_CYCLE = RESPONSE_FORMATS[:5]
IMAGE_FORMATS: tuple[str, ...] = ("jpeg", "png")

# The rules of the API reference page.
MIN_PIXELS, MAX_PIXELS = 3_686_400, 16_777_216
MAX_RATIO = 16
MAX_REFERENCES = 14
MAX_TOTAL_IMAGES = 15  # references + generated images (Seedream 4.x docs)
NAMED_SIZES = {"2K": (2048, 2048), "4K": (4096, 4096)}
DEFAULT_SIZE = (2048, 2048)
_CANONICAL_SIZE = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")
_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+(;[^;,]*)*;base64,", re.IGNORECASE)

_REASONS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    429: "RATE_LIMITED", 500: "INTERNAL", 502: "BAD_GATEWAY", 503: "UNAVAILABLE", 504: "GATEWAY_TIMEOUT",
}  # fmt: skip
_FAULT_ERRORS: dict[str, tuple[int, str]] = {
    "400": (400, "The request is invalid (injected fault)."),
    "401": (401, "The API key is missing or invalid; send 'Authorization: Bearer <your key>'."),
    "403": (403, "This API key is not allowed to use Seedream 4.5; check the key's permissions."),
    "500": (500, "The service hit an internal error; try again later."),
    "502": (502, "The upstream service sent an invalid answer; try again later."),
    "503": (503, "The service is temporarily unavailable; try again in a moment."),
    "504": (504, "The upstream service timed out; try again later."),
}
_CONTENT_POLICY = (
    "The request was rejected because the prompt or a reference image may contain sensitive content; "
    "change it and try again."
)
_MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}
_EXTENSIONS = {"jpeg": "jpg", "png": "png"}
_NOT_AN_IMAGE = b"this is plain text, not an image\n"
_IMAGE_STORE_BYTES = 384 * 1024 * 1024  # the oldest images are forgotten past this

logger = logging.getLogger("seedream_ui.stub_api")


@dataclass(frozen=True)
class StubConfig:
    """How the stand-in behaves when a request's X-Stub-* headers do not say otherwise."""

    api_key: str | None = field(default=None, repr=False)  # None: any non-empty bearer token is accepted
    latency: float = 0.0
    fault: str = "ok"
    response_format: str = "url"
    image_format: str = "jpeg"
    retry_after: float | str = 1
    hang_seconds: float = 3600.0

    def __post_init__(self) -> None:
        _check_choice("fault", self.fault, FAULTS)
        _check_choice("response_format", self.response_format, RESPONSE_FORMATS)
        _check_choice("image_format", self.image_format, IMAGE_FORMATS)
        if self.latency < 0 or self.hang_seconds < 0:
            raise ValueError("latency and hang_seconds must not be negative")


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


# --- state shared by the server thread and the test thread --------------------------------------------------


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    image_format: str


class StubState:
    """Recorded requests, the fault queue and served images; thread-safe, because tests read it directly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._faults: deque[str] = deque()
        self._images: OrderedDict[str, StoredImage] = OrderedDict()
        self._image_bytes = 0
        self._fetches = 0
        # Set when the server stops, so that `hang` and latency sleeps end instead of holding shutdown.
        self.stopping = threading.Event()

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._records.append(entry)
        return entry

    def set_status(self, entry: dict[str, Any], status: int | None) -> None:
        with self._lock:
            entry["status"] = status

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._records)

    def image_fetches(self) -> int:
        with self._lock:
            return self._fetches

    def queue_faults(self, faults: Iterable[str]) -> list[str]:
        faults = list(faults)
        for fault in faults:
            _check_choice("fault", fault, FAULTS)
        with self._lock:
            self._faults.extend(faults)
            return list(self._faults)

    def queued_faults(self) -> list[str]:
        with self._lock:
            return list(self._faults)

    def pop_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def reset(self) -> None:
        """Forget records, queued faults and the fetch counter (served images stay fetchable)."""
        with self._lock:
            self._records.clear()
            self._faults.clear()
            self._fetches = 0

    def store_image(self, image: StoredImage) -> str:
        image_id = uuid.uuid4().hex
        with self._lock:
            self._images[image_id] = image
            self._image_bytes += len(image.data)
            while self._image_bytes > _IMAGE_STORE_BYTES and len(self._images) > 1:
                _, old = self._images.popitem(last=False)
                self._image_bytes -= len(old.data)
        return image_id

    def fetch_image(self, image_id: str) -> StoredImage | None:
        with self._lock:
            self._fetches += 1
            return self._images.get(image_id)


# --- validation, straight from the reference page -----------------------------------------------------------


class InvalidArgument(Exception):
    """A request the real API would refuse with 400 INVALID_ARGUMENT."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Plan:
    """What a valid request asks for."""

    prompt: str
    width: int
    height: int
    references: tuple[Reference, ...]
    watermark: bool
    count: int


def validate_body(body: dict[str, Any]) -> Plan:
    """The plan of a request body, or InvalidArgument naming the first field that breaks a rule."""
    prompt = _prompt(body)
    width, height = _size(body.get("size", "2048x2048"))
    references = _references(body["image"]) if "image" in body else ()
    watermark = body.get("watermark", True)
    if not isinstance(watermark, bool):
        raise InvalidArgument("watermark", f"watermark must be true or false, not {_json(watermark)}.")
    if "optimize_prompt_options" in body:
        _optimize_options(body["optimize_prompt_options"])
    mode = body.get("sequential_image_generation", "disabled")
    if mode not in ("auto", "disabled"):
        raise InvalidArgument(
            "sequential_image_generation",
            f"sequential_image_generation must be \"auto\" or \"disabled\", not {_json(mode)}.",
        )
    max_images = _max_images(body, len(references))
    count = (max_images or 1) if mode == "auto" else 1
    return Plan(prompt, width, height, references, watermark, count)


def _prompt(body: dict[str, Any]) -> str:
    if "prompt" not in body:
        raise InvalidArgument("prompt", "prompt is required: describe the image to generate.")
    prompt = body["prompt"]
    if not isinstance(prompt, str):
        raise InvalidArgument("prompt", f"prompt must be a string, not {_json(prompt)}.")
    if not prompt.strip():
        raise InvalidArgument("prompt", "prompt is blank: describe the image to generate.")
    return prompt


def _size(size: object) -> tuple[int, int]:
    if not isinstance(size, str):
        raise InvalidArgument("size", f"size must be a string such as \"2K\" or \"2048x2048\", not {_json(size)}.")
    if size in NAMED_SIZES:
        return NAMED_SIZES[size]
    match = _CANONICAL_SIZE.match(size)
    if not match:
        raise InvalidArgument(
            "size",
            f"size {_json(size)} is not \"2K\", \"4K\" or \"<width>x<height>\" (digits, a lowercase x, no spaces).",
        )
    width, height = int(match.group(1)), int(match.group(2))
    pixels = width * height
    if not MIN_PIXELS <= pixels <= MAX_PIXELS:
        raise InvalidArgument(
            "size", f"size {size} has {pixels} pixels; the total must be between {MIN_PIXELS} and {MAX_PIXELS}."
        )
    if width > MAX_RATIO * height or height > MAX_RATIO * width:
        raise InvalidArgument("size", f"size {size} is too narrow; the aspect ratio must be between 1:16 and 16:1.")
    return width, height


def _references(images: object) -> tuple[Reference, ...]:
    if not isinstance(images, list):
        raise InvalidArgument("image", f"image must be an array of URLs or Base64 images, not {_json(images)}.")
    if not 1 <= len(images) <= MAX_REFERENCES:
        raise InvalidArgument(
            "image", f"image holds {len(images)} items; send 1 to {MAX_REFERENCES} reference images, or leave it out."
        )
    return tuple(_reference(item, f"image[{index}]") for index, item in enumerate(images))


def _reference(item: object, name: str) -> Reference:
    if not isinstance(item, str):
        raise InvalidArgument(name, f"{name} must be a string (a URL or Base64), not {_json(item)}.")
    if item[:8].lower().startswith(("http://", "https://")):
        try:
            host = urlsplit(item).hostname
        except ValueError:  # e.g. an unclosed "[" of an IPv6 address: a 400 like any bad URL, not a crash
            raise InvalidArgument(name, f"{name} is not a well-formed URL.") from None
        if not host:
            raise InvalidArgument(name, f"{name} is a URL without a host.")
        return Reference("url", url=item)
    match = _DATA_URI.match(item)
    if item[:5].lower() == "data:" and not match:
        raise InvalidArgument(name, f"{name} is a data URI but not of the form data:image/<type>;base64,<data>.")
    payload = item[match.end():] if match else item
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(name, f"{name} is neither an http(s) URL nor valid Base64.") from None
    image_format = sniff_format(data[:16])
    if image_format is None:
        raise InvalidArgument(name, f"{name} is not a jpeg, png, webp, bmp, tiff or gif image.")
    return Reference("base64", data=data, format=image_format)


def _optimize_options(options: object) -> None:
    if not isinstance(options, dict):
        raise InvalidArgument(
            "optimize_prompt_options", f"optimize_prompt_options must be an object, not {_json(options)}."
        )
    if "mode" in options and options["mode"] not in ("standard", "fast"):
        raise InvalidArgument(
            "optimize_prompt_options.mode",
            f"optimize_prompt_options.mode must be \"standard\" or \"fast\", not {_json(options['mode'])}.",
        )


def _max_images(body: dict[str, Any], references: int) -> int | None:
    if "sequential_image_generation_options" not in body:
        return None
    options = body["sequential_image_generation_options"]
    name = "sequential_image_generation_options"
    if not isinstance(options, dict):
        raise InvalidArgument(name, f"{name} must be an object, not {_json(options)}.")
    if "max_images" not in options:
        return None
    value = options["max_images"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{name}.max_images", f"max_images must be a whole number >= 1, not {_json(value)}.")
    if references + value > MAX_TOTAL_IMAGES:
        raise InvalidArgument(
            f"{name}.max_images",
            f"max_images is {value} with {references} reference images; together they may be at most "
            f"{MAX_TOTAL_IMAGES}, so ask for at most {max(0, MAX_TOTAL_IMAGES - references)}.",
        )
    return value


def _json(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# --- HTTP ----------------------------------------------------------------------------------------------------


def error_response(
    status: int, message: str, *, reason: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The error body of every status: {"code", "reason", "message"}."""
    body = {"code": status, "reason": reason or _REASONS.get(status, "INTERNAL"), "message": message}
    return JSONResponse(body, status_code=status, headers=headers)


# Lets the log filter below tell our deliberate `drop` from a real bug in some other app in the same process.
_dropping: contextvars.ContextVar[bool] = contextvars.ContextVar("seedream_stub_dropping", default=False)


class _DeliberateDropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_dropping.get() and "without completing response" in record.getMessage())


class DroppedResponse(Response):
    """Status line, headers and part of the body, then the connection closes: a network failure mid-body."""

    def __init__(self, body: bytes) -> None:
        super().__init__(status_code=200)
        self._full = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self._full)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self._full[: len(self._full) // 3], "more_body": True})
        # Returning with the body unfinished makes uvicorn close the transport.
        _dropping.set(True)


class _AccessLog:
    """One log line per request: client, method, path, status, duration and what the stub did (never the key)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: int | None = None
        started = time.perf_counter()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            note = scope.get("state", {}).get("stub_note", "")
            client = scope.get("client") or ("-", 0)
            milliseconds = (time.perf_counter() - started) * 1000
            logger.info(
                "%s %s %s -> %s %.0fms%s", client[0], scope["method"], scope["path"], status or "-", milliseconds,
                f" {note}" if note else "",
            )  # fmt: skip


def create_app(config: StubConfig | None = None, state: StubState | None = None) -> FastAPI:
    """The stand-in as an ASGI app; `app.state.stub` is its StubState."""
    config = config or StubConfig()
    state = state or StubState()
    app = FastAPI(title="Seedream 4.5 stand-in", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.stub = state
    app.state.config = config
    app.add_middleware(_AccessLog)

    @app.post(ENDPOINT_PATH)
    async def generate(request: Request) -> Response:
        raw = await request.body()
        body = _parse_json(raw)
        entry = state.record({
            "id": f"req_{uuid.uuid4().hex[:20]}",
            "time": time.time(),
            "api_key": _bearer_token(request.headers.get("authorization")),
            "headers": {
                name: value for name, value in request.headers.items()
                if name == "content-type" or name.startswith("x-stub-")
            },
            "body": None if body is _NOT_JSON else body,
            "status": None,
        })  # fmt: skip
        response = await _answer(request, config, state, entry, body)
        # A client that gave up never got an answer: its status stays None.
        state.set_status(entry, None if await request.is_disconnected() else response.status_code)
        return response

    @app.get(IMAGES_PATH + "/{name}")
    async def image(name: str) -> Response:
        stored = state.fetch_image(name.split(".", 1)[0])
        if stored is None:
            return error_response(404, f"No image {name} here; it may have expired or never existed.")
        return Response(stored.data, media_type=_MEDIA_TYPES[stored.image_format])

    @app.get("/_stub/requests")
    async def recorded() -> dict[str, Any]:
        return {"requests": state.requests(), "image_fetches": state.image_fetches()}

    @app.delete("/_stub/requests")
    async def clear() -> dict[str, Any]:
        state.reset()
        return {"requests": [], "image_fetches": 0}

    @app.get("/_stub/faults")
    async def faults() -> dict[str, Any]:
        return {"faults": state.queued_faults()}

    @app.post("/_stub/faults")
    async def queue(request: Request) -> Response:
        body = _parse_json(await request.body())
        names = body.get("faults") if isinstance(body, dict) else None
        if not isinstance(names, list) or not all(isinstance(name, str) and name in FAULTS for name in names):
            return error_response(400, f"Send {{\"faults\": [...]}} with names from: {', '.join(FAULTS)}.")
        return JSONResponse({"faults": state.queue_faults(names)})

    return app


_NOT_JSON = object()


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


@dataclass(frozen=True)
class _Options:
    """The per-request knobs: X-Stub-* headers over the server's StubConfig."""

    latency: float
    response_format: str
    image_format: str
    retry_after: str
    token: str | None


def _options(request: Request, config: StubConfig) -> _Options:
    headers = request.headers
    latency_text = headers.get("x-stub-latency")
    try:
        latency = float(latency_text) if latency_text is not None else config.latency
    except ValueError:
        raise InvalidArgument("X-Stub-Latency", "X-Stub-Latency must be a number of seconds.") from None
    response_format = headers.get("x-stub-response-format", config.response_format)
    if response_format not in RESPONSE_FORMATS:
        choices = ", ".join(RESPONSE_FORMATS)
        raise InvalidArgument("X-Stub-Response-Format", f"X-Stub-Response-Format must be one of {choices}.")
    image_format = headers.get("x-stub-image-format", config.image_format)
    if image_format not in IMAGE_FORMATS:
        raise InvalidArgument("X-Stub-Image-Format", f"X-Stub-Image-Format must be one of {', '.join(IMAGE_FORMATS)}.")
    retry_after = headers.get("x-stub-retry-after", _seconds_text(config.retry_after))
    return _Options(max(0.0, latency), response_format, image_format, retry_after, headers.get("x-stub-token"))


def _seconds_text(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


async def _answer(request: Request, config: StubConfig, state: StubState, entry: dict[str, Any], body: Any) -> Response:
    note = request.state
    try:
        options = _options(request, config)
        fault = state.pop_fault() or request.headers.get("x-stub-fault") or config.fault
        if fault not in FAULTS:
            raise InvalidArgument("X-Stub-Fault", f"X-Stub-Fault {fault!r} is unknown; use one of {', '.join(FAULTS)}.")
    except InvalidArgument as problem:
        return error_response(400, problem.message)
    note.stub_note = "" if fault == "ok" else f"fault={fault}"
    if not await _sleep(options.latency, request, state):
        return error_response(503, "The stand-in stopped or the client left while waiting.")
    if fault == "hang" and not await _sleep(config.hang_seconds, request, state):
        return error_response(503, "The stand-in stopped or the client left while hanging.")

    if fault in _FAULT_ERRORS:
        return error_response(*_FAULT_ERRORS[fault])
    if fault == "content-policy":
        return error_response(400, _CONTENT_POLICY, reason="CONTENT_POLICY")
    if fault == "429":
        return error_response(429, f"Too many requests; wait {options.retry_after} s and try again.",
                              headers={"Retry-After": options.retry_after})  # fmt: skip
    if fault == "429-no-retry-after":
        return error_response(429, "Too many requests; wait a little and try again.")
    if fault == "not-json":
        return Response("<html>upstream error</html>", media_type="text/html")
    if fault == "no-images":
        return JSONResponse({"data": []})
    if fault == "empty-images":
        return JSONResponse({"images": []})
    if fault == "drop":
        return DroppedResponse(json.dumps({"images": [f"{_base_url(request)}{IMAGES_PATH}/dropped.jpg"] * 8}).encode())
    if fault in ("bad-image", "url-404", "partial-url-404"):
        return await _broken_success(fault, request, state, entry, body, options)

    token = _bearer_token(request.headers.get("authorization"))
    if token is None or (config.api_key is not None and not hmac.compare_digest(token, config.api_key)):
        return error_response(*_FAULT_ERRORS["401"])
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return error_response(400, "Content-Type must be application/json.")
    if not isinstance(body, dict):
        return error_response(400, "The body must be a JSON object with at least a \"prompt\".")
    try:
        plan = validate_body(body)
    except InvalidArgument as problem:
        return error_response(400, problem.message)
    note.stub_note = f"images={plan.count} size={plan.width}x{plan.height}"
    images = await _render(plan, entry, options)
    return JSONResponse({"images": _results(images, options.response_format, options.image_format, request, state)})


async def _sleep(seconds: float, request: Request, state: StubState) -> bool:
    """Sleep without blocking other requests; False if the server stops or the client leaves first."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if state.stopping.is_set() or await request.is_disconnected():
            return False
        await asyncio.sleep(min(left, 0.05))
    return True


async def _render(
    plan: Plan, entry: dict[str, Any], options: _Options, indices: Sequence[int] | None = None
) -> list[bytes]:
    pictures = PictureSet(
        prompt=plan.prompt, width=plan.width, height=plan.height, count=plan.count, references=plan.references,
        watermark=plan.watermark, request_id=entry["id"], token=options.token or entry["id"],
    )  # fmt: skip
    # Drawing and encoding take tens of milliseconds per image: keep them off the event loop.
    return await run_in_threadpool(render_set, pictures, options.image_format, indices)  # type: ignore[arg-type]


def _results(
    images: Sequence[bytes], response_format: str, image_format: str, request: Request, state: StubState
) -> list[str | dict[str, str]]:
    cycle = itertools.cycle(_MIXED_CYCLE) if response_format == "mixed" else itertools.repeat(response_format)
    return [_result(data, shape, image_format, request, state) for data, shape in zip(images, cycle)]


def _result(data: bytes, shape: str, image_format: str, request: Request, state: StubState) -> str | dict[str, str]:
    if shape in ("url", "object-url"):
        image_id = state.store_image(StoredImage(data, image_format))
        url = f"{_base_url(request)}{IMAGES_PATH}/{image_id}.{_EXTENSIONS[image_format]}"
        return url if shape == "url" else {"url": url}
    encoded = base64.b64encode(data).decode("ascii")
    if shape == "data-uri":
        return f"data:{_MEDIA_TYPES[image_format]};base64,{encoded}"
    return encoded if shape == "b64" else {"b64_json": encoded}


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _broken_success(
    fault: str, request: Request, state: StubState, entry: dict[str, Any], body: Any, options: _Options
) -> Response:
    """200 answers whose images are unusable; they skip auth and validation like every fault."""
    plan = _lenient_plan(body)
    if fault == "bad-image":
        garbage = base64.b64encode(_NOT_AN_IMAGE).decode("ascii")
        return JSONResponse({"images": [garbage] * plan.count})
    # Ids that were never stored: fetching them answers 404.
    missing = [
        f"{_base_url(request)}{IMAGES_PATH}/{uuid.uuid4().hex}.{_EXTENSIONS[options.image_format]}"
        for _ in range(plan.count if fault == "url-404" else 1)
    ]
    # partial-url-404: images 2..N are real and say so in their markers.
    rest = await _render(plan, entry, options, indices=range(len(missing) + 1, plan.count + 1))
    urls = [_result(data, "url", options.image_format, request, state) for data in rest]
    return JSONResponse({"images": [*missing, *urls]})


def _lenient_plan(body: Any) -> Plan:
    """The request's plan when it is valid, else one 2048x2048 image (faults answer any body)."""
    if isinstance(body, dict):
        try:
            return validate_body(body)
        except InvalidArgument:
            pass
    prompt = body.get("prompt") if isinstance(body, dict) else None
    return Plan(prompt if isinstance(prompt, str) and prompt.strip() else "(no prompt)", *DEFAULT_SIZE, (), True, 1)


# --- running it ----------------------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: StubState) -> None:
        super().__init__(config)
        self._state = state

    def handle_exit(self, sig: int, frame: Any) -> None:  # Ctrl-C on the CLI: end hanging requests too
        self._state.stopping.set()
        super().handle_exit(sig, frame)


def _uvicorn_config(app: FastAPI, *, log_level: str) -> uvicorn.Config:
    logging.getLogger("uvicorn.error").addFilter(_drop_filter)
    return uvicorn.Config(
        app, log_level=log_level, log_config=None, access_log=False, lifespan="off", ws="none",
        timeout_graceful_shutdown=2,  # backstop: our own sleeps already end on `stopping`
    )  # fmt: skip


_drop_filter = _DeliberateDropFilter()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only then; without it every answer waits ~40 ms on
    # Nagle + delayed ACK, because headers and body go out as separate writes.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class StubServer:
    """The stand-in on 127.0.0.1 (a free port by default), served by uvicorn in a background thread."""

    def __init__(self, config: StubConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or StubConfig()
        self.state = StubState()
        self.app = create_app(self.config, self.state)
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The stub server is not running; call start() first.")
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + ENDPOINT_PATH

    def start(self, timeout: float = 10.0) -> StubServer:
        if self._server is not None:
            raise RuntimeError("The stub server is already running.")
        sock = _bind(self._host, self._port)
        self._port = sock.getsockname()[1]
        self.state.stopping.clear()  # a stopped server may be started again
        self._server = _Server(_uvicorn_config(self.app, log_level="warning"), self.state)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"seedream-stub-{self._port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server, self._thread = None, None
                sock.close()
                raise RuntimeError("The stub server did not start.")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is None or self._thread is None:
            return
        self.state.stopping.set()
        self._server.should_exit = True
        self._thread.join(timeout)
        self._server, self._thread = None, None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def requests(self) -> list[dict[str, Any]]:
        """Every POST to the endpoint so far (a copy), oldest first."""
        return self.state.requests()

    def image_fetches(self) -> int:
        return self.state.image_fetches()

    def queue_faults(self, faults: Iterable[str]) -> list[str]:
        """Append faults that the next generation requests take, one each, before any header or default."""
        return self.state.queue_faults(faults)

    def reset(self) -> None:
        self.state.reset()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seedream_ui.stub_api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--api-key", help="accept only this bearer token (default: any non-empty one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before answering")
    parser.add_argument("--fault", choices=FAULTS, default="ok", help="fault for every request without X-Stub-Fault")
    parser.add_argument("--response-format", choices=RESPONSE_FORMATS, default="url")
    parser.add_argument("--image-format", choices=IMAGE_FORMATS, default="jpeg")
    parser.add_argument("--retry-after", default="1", help="Retry-After value of the 429 fault")
    parser.add_argument("--hang-seconds", type=float, default=3600.0, help="how long the hang fault waits")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = StubConfig(
        api_key=args.api_key, latency=args.latency, fault=args.fault, response_format=args.response_format,
        image_format=args.image_format, retry_after=args.retry_after, hang_seconds=args.hang_seconds,
    )  # fmt: skip
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logger.setLevel(logging.INFO)
    state = StubState()
    app = create_app(config, state)
    sock = _bind(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{sock.getsockname()[1]}{ENDPOINT_PATH}"
    key = "$SEEDREAM_API_KEY" if args.api_key else "any-key"
    print(f"Seedream 4.5 stand-in listening on {url}", flush=True)
    print(
        f"  curl -s {url} -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
        "-d '{\"prompt\": \"a red fox in the snow\", \"size\": \"2K\"}'",
        flush=True,
    )
    _Server(_uvicorn_config(app, log_level="warning"), state).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
