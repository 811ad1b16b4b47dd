"""The stand-in's HTTP app: the endpoint, its images, and the /_stub/ routes for recordings and faults."""

from __future__ import annotations

import asyncio
import base64
import hmac
import itertools
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from seedream_ui.stub.bodies import Parsed, parse_body, read_body
from seedream_ui.stub.config import (
    RESPONSE_FORMATS,
    Options,
    StubConfig,
    request_options,
)
from seedream_ui.stub.faults import (
    FAULT_BEHAVIOURS,
    FAULTS,
    UNAUTHENTICATED,
    FaultContext,
)
from seedream_ui.stub.http import AccessLog, bearer_token, error_response
from seedream_ui.stub.images import PictureSet, render_set
from seedream_ui.stub.records import StoredImage, StubState
from seedream_ui.stub.rules import InvalidArgument, Plan, validate_body

__all__ = ["ENDPOINT_PATH", "IMAGES_PATH", "Renderer", "create_app"]

ENDPOINT_PATH = "/v3/seedream-4.5"
IMAGES_PATH = "/_stub/images"
_MIXED_CYCLE = RESPONSE_FORMATS[:5]
_MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}
_EXTENSIONS = {"jpeg": "jpg", "png": "png"}
_SHOWN_HEADER = 256  # a recorded X-Stub-* header keeps this many characters

# Draws the images of a request: (pictures, image format, 1-based indices or None for all) -> encoded images.
Renderer = Callable[[PictureSet, str, Sequence[int] | None], list[bytes]]


def create_app(
    config: StubConfig | None = None, state: StubState | None = None, *, renderer: Renderer | None = None
) -> FastAPI:
    """The stand-in as an ASGI app; `app.state.stub` is its StubState."""
    config = config or StubConfig()
    state = state or StubState(config)
    draw: Renderer = renderer or render_set  # type: ignore[assignment]
    app = FastAPI(title="Seedream 4.5 stand-in", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.stub = state
    app.state.config = config
    app.add_middleware(AccessLog)

    @app.post(ENDPOINT_PATH)
    async def generate(request: Request) -> Response:
        raw = await read_body(request, config.max_body_bytes)
        if raw is None:
            state.set_status(state.record(_entry(request, None), 0), 413)
            return error_response(
                413, f"The body is larger than {config.max_body_bytes} bytes; 14 reference images of 10 MB fit in less."
            )
        # Parsing and summarising ~200 MB of references takes a while: off the event loop.
        entry, parsed = await run_in_threadpool(_record, state, request, raw)
        response = await _Answer(request, config, state, entry, draw).respond(parsed)
        # A client that gave up never got an answer: its status stays None.
        state.set_status(entry, None if await request.is_disconnected() else response.status_code)
        return response

    @app.get(IMAGES_PATH + "/{name}")
    async def image(name: str) -> Response:
        image_id = name.split(".", 1)[0]
        stored = state.fetch_image(image_id)
        if stored is not None:
            return Response(stored.data, media_type=_MEDIA_TYPES[stored.image_format])
        if state.was_issued(image_id):
            return error_response(410, f"Image {name} has expired; the stand-in keeps only its newest images.")
        return error_response(404, f"No image {name} here; it never existed.")

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
        raw = await read_body(request, 64 * 1024)
        body = parse_body(raw).value if raw is not None else None
        names = body.get("faults") if isinstance(body, dict) else None
        if not isinstance(names, list) or not all(isinstance(name, str) and name in FAULTS for name in names):
            return error_response(400, f"Send {{\"faults\": [...]}} with names from: {', '.join(FAULTS)}.")
        return JSONResponse({"faults": state.queue_faults(names)})

    return app


def _record(state: StubState, request: Request, raw: bytes) -> tuple[dict[str, Any], Parsed]:
    """The request's record (kept in `state`) and its parsed body (the record's copy may get compacted)."""
    parsed = parse_body(raw)
    return state.record(_entry(request, parsed.value), len(raw)), parsed


def _entry(request: Request, body: Any) -> dict[str, Any]:
    return {
        "id": f"req_{uuid.uuid4().hex[:20]}",
        "time": time.time(),
        "api_key": bearer_token(request.headers.get("authorization")),
        "headers": {
            name: value[:_SHOWN_HEADER] for name, value in request.headers.items()
            if name == "content-type" or name.startswith("x-stub-")
        },
        "body": body,
        "status": None,
    }  # fmt: skip


class _Answer:
    """The answer to one POST: its fault (queue, then header, then config), latency, then the real work."""

    def __init__(
        self, request: Request, config: StubConfig, state: StubState, entry: dict[str, Any], draw: Renderer
    ) -> None:
        self.request, self.config, self.state, self.entry, self.draw = request, config, state, entry, draw
        self.base_url = str(request.base_url).rstrip("/")

    async def respond(self, parsed: Parsed) -> Response:
        note = self.request.state
        try:
            options = request_options(self.request.headers, self.config)
            fault = self.state.pop_fault() or self.request.headers.get("x-stub-fault") or self.config.fault
            if fault not in FAULT_BEHAVIOURS:
                raise InvalidArgument(
                    "X-Stub-Fault", f"X-Stub-Fault {fault[:40]!r} is unknown; use one of {', '.join(FAULTS)}."
                )
        except InvalidArgument as problem:
            return error_response(400, problem.message)
        note.stub_note = "" if fault == "ok" else f"fault={fault}"
        if not await self.sleep(options.latency):
            return error_response(503, "The stand-in stopped or the client left while waiting.")
        context = FaultContext(
            body=parsed.value, retry_after=options.retry_after, hang_seconds=self.config.hang_seconds,
            base_url=self.base_url, sleep=self.sleep, render=lambda plan, indices: self.render(plan, options, indices),
            store=lambda data: self.store(data, options.image_format),
            missing_url=lambda: self.image_url(uuid.uuid4().hex, options.image_format),
        )  # fmt: skip
        faulty = await FAULT_BEHAVIOURS[fault](context)
        return faulty if faulty is not None else await self.generate(parsed, options)

    async def generate(self, parsed: Parsed, options: Options) -> Response:
        """What the real API answers: 401, 400 naming the broken rule, or the images."""
        headers = self.request.headers
        token = bearer_token(headers.get("authorization"))
        key = self.config.api_key
        if token is None or (key is not None and not hmac.compare_digest(token, key)):
            return error_response(401, UNAUTHENTICATED)
        if headers.get("content-type", "").split(";", 1)[0].strip().lower() != "application/json":
            return error_response(400, "Content-Type must be application/json.")
        if parsed.problem is not None:
            return error_response(400, parsed.problem)
        if not isinstance(parsed.value, dict):
            return error_response(400, "The body must be a JSON object with at least a \"prompt\".")
        try:
            plan = validate_body(parsed.value)
        except InvalidArgument as problem:
            return error_response(400, problem.message)
        self.request.state.stub_note = f"images={plan.count} size={plan.width}x{plan.height}"
        images = await self.render(plan, options)
        cycle = _MIXED_CYCLE if options.response_format == "mixed" else (options.response_format,)
        shapes = itertools.cycle(cycle)
        return JSONResponse({"images": [self.result(data, next(shapes), options.image_format) for data in images]})

    async def sleep(self, seconds: float) -> bool:
        """Sleep without blocking other requests; False if the server stops or the client leaves first."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.state.stopping.is_set() or await self.request.is_disconnected():
                return False
            await asyncio.sleep(min(left, 0.05))
        return True

    async def render(self, plan: Plan, options: Options, indices: Sequence[int] | None = None) -> list[bytes]:
        pictures = PictureSet(
            prompt=plan.prompt, width=plan.width, height=plan.height, count=plan.count, references=plan.references,
            watermark=plan.watermark, request_id=self.entry["id"], token=options.token or self.entry["id"],
        )  # fmt: skip
        # Drawing and encoding take tens of milliseconds per image: keep them off the event loop.
        return await run_in_threadpool(self.draw, pictures, options.image_format, indices)

    def result(self, data: bytes, shape: str, image_format: str) -> str | dict[str, str]:
        if shape in ("url", "object-url"):
            url = self.store(data, image_format)
            return url if shape == "url" else {"url": url}
        encoded = base64.b64encode(data).decode("ascii")
        if shape == "data-uri":
            return f"data:{_MEDIA_TYPES[image_format]};base64,{encoded}"
        return encoded if shape == "b64" else {"b64_json": encoded}

    def store(self, data: bytes, image_format: str) -> str:
        return self.image_url(self.state.store_image(StoredImage(data, image_format)), image_format)

    def image_url(self, image_id: str, image_format: str) -> str:
        return f"{self.base_url}{IMAGES_PATH}/{image_id}.{_EXTENSIONS[image_format]}"
