"""The MCP tool for agents: `generate_image`, served at Gradio's MCP route (`/gradio_api/mcp/`, streamable HTTP).

Gradio derives MCP tools from the public API endpoints, which here is only the page's `/generate`: its gr.State
inputs break every call ("pop index out of range") and its parameters carry no descriptions. So Gradio still
serves the route, the transport and the landing page, and this module replaces the tool list and the call
handler on Gradio's MCP server object with one tool written for agents. It runs the page's generation path
(`generation.generate` through `Backend.route`) and answers with the images, their URLs here and the status line.
`/generate` stays a gradio_client endpoint; it is just not an MCP tool.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import warnings
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from seedream_ui import generation as gen
from seedream_ui.backend import Backend
from seedream_ui.config import Settings
from seedream_ui.errors import SeedreamError, ValidationError
from seedream_ui.quotas.limits import to_micros, usd
from seedream_ui.request import MAX_REFERENCES, MAX_TOTAL_IMAGES
from seedream_ui.sizes import MAX_PIXELS, MAX_RATIO, MIN_PIXELS, MIN_RATIO
from seedream_ui.ui_limits import visit_for

log = logging.getLogger("seedream_ui.mcp")

TOOL_NAME = "generate_image"
KEY_HEADER = "X-Seedream-Api-Key"  # an agent's own key; without it the server's key (and visitor limits) apply
DEFAULT_SIZE = "2K"
PROGRESS_INTERVAL_S = 5.0
INTERNAL_ERROR = "Something went wrong on our side; nothing was changed. Please try again."
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}

# Gradio warns at launch that /generate has gr.State inputs; that tool is removed below, so the warning is moot.
warnings.filterwarnings("ignore", message="This MCP server includes a tool that has a gr.State input")


def description(price_per_image: float) -> str:
    """What the agent reads about the tool; the price is the operator's (SEEDREAM_PRICE_PER_IMAGE), as the page's."""
    return (
        "Generate or edit images with ByteDance Seedream 4.5 from a text prompt, optionally guided by up to "
        f"{MAX_REFERENCES} reference images (to edit a photo, combine several, or keep a character or style). "
        "Each image takes about 20-60 s (a sequence of several images, or 4K, takes longer) and costs about "
        f"{usd(to_micros(price_per_image))} on the server's account unless you send your own key in the "
        f"{KEY_HEADER} HTTP header. Returns each image (as image content and as a URL on this server, valid for "
        "a few hours) and a status line with the image sizes and any warnings. Invalid input is refused with "
        "a message saying what to fix, before anything is sent or billed."
    )


PARAMETERS: dict[str, dict[str, Any]] = {
    "prompt": {
        "type": "string",
        "description": "What to draw, or how to change the reference images, in English or Chinese. Be "
        "specific about subject, style, composition and light; refer to references as 'image 1', 'image 2'. "
        "Up to about 600 words (300 Chinese characters); the model may ignore text beyond that.",
    },
    "size": {
        "type": "string",
        "default": DEFAULT_SIZE,
        "description": "'2K' or '4K' (the model picks the aspect ratio, e.g. from the reference images), or "
        f"exact pixels as 'WIDTHxHEIGHT' (e.g. '2560x1440') with width x height between {MIN_PIXELS:,} and "
        f"{MAX_PIXELS:,} pixels (1920x1920 to 4096x4096) and an aspect ratio between {MIN_RATIO} and {MAX_RATIO}.",
    },
    "reference_images": {
        "type": "array",
        "items": {"type": "string"},
        "maxItems": MAX_REFERENCES,
        "default": [],
        "description": f"Optional, 1 to {MAX_REFERENCES} images to edit or draw from, in order (image 1 first): "
        "each an http(s) URL the API can download, or a Base64 data URI 'data:image/png;base64,...' "
        "(jpeg, png, webp, bmp, tiff or gif; at most 10 MB each).",
    },
    "watermark": {
        "type": "boolean",
        "default": True,
        "description": "Add Seedream's small 'AI generated' watermark in a corner (default true).",
    },
    "sequential_image_generation": {
        "type": "string",
        "enum": ["disabled", "auto"],
        "default": "disabled",
        "description": "'disabled' (default): exactly one image. 'auto': the model may return a coherent "
        "series (a storyboard, variations, a set of related images) of up to max_images images.",
    },
    "max_images": {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_TOTAL_IMAGES - 1,
        "default": 4,
        "description": "Only with sequential_image_generation='auto': the most images to generate. Reference "
        f"images plus generated images are at most {MAX_TOTAL_IMAGES}. Each image is billed.",
    },
}


def input_schema() -> dict[str, Any]:
    return {"type": "object", "properties": PARAMETERS, "required": ["prompt"], "additionalProperties": False}


def form_from_arguments(arguments: Mapping[str, Any]) -> gen.GenerationForm:
    """The page's form for a tool call. Only URLs and data URIs are references: never a path on this server."""
    references = [str(r).strip() for r in arguments.get("reference_images") or []]
    for number, ref in enumerate(references, start=1):
        if not (ref[:7].lower() == "http://" or ref[:8].lower() == "https://" or ref[:5].lower() == "data:"):
            raise ValidationError(
                f"Reference image {number} must be an http(s) URL or a data:image/...;base64 URI.", field="image"
            )
    sequential = arguments.get("sequential_image_generation", "disabled")
    max_images = arguments.get("max_images", 4)
    # Passed on as sent (the MCP SDK checked them against input_schema()); check_form refuses a wrong type with
    # the page's message instead of coercing it.
    return gen.GenerationForm(
        prompt=arguments.get("prompt", ""),
        size=arguments.get("size", DEFAULT_SIZE),
        # In order: the checks above leave only URLs and data URIs, which prepare_references reads as such.
        reference_files=tuple(references),
        watermark=arguments.get("watermark", True),
        sequential_image_generation=sequential,
        max_images=max_images if sequential == "auto" else None,
    )


async def run_tool(
    backend: Backend, arguments: Mapping[str, Any], *, agent_key: str | None, request: Any = None
) -> gen.Generation:
    """One generation for an agent, exactly as the page makes it. SeedreamError messages are the page's.

    `request` is the MCP call's HTTP request: its client address is the visitor the page's quotas count."""
    form = form_from_arguments(arguments)
    client, key = backend.route(agent_key)
    visit = await visit_for(backend.gate, request, api_key=agent_key)
    done = await gen.generate(client, form, api_key=key, output_root=backend.output_root, reserve=visit.reserve)
    return visit.with_cost(done)


def tool_content(done: gen.Generation, file_url: Any) -> list[Any]:
    """MCP content: each image and its URL here, then the status line (with any warnings)."""
    from mcp import types

    content: list[Any] = []
    for path in done.files:
        mime = _IMAGE_TYPES.get(path.suffix.lower(), "image/png")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        content.append(types.ImageContent(type="image", data=data, mimeType=mime))
        content.append(types.TextContent(type="text", text=f"Image URL: {file_url(path)}"))
    content.append(types.TextContent(type="text", text=done.status))
    return content


def install(demo: Any, backend: Backend, text: str) -> bool:
    """Offer only `generate_image`, described by `text`, on the demo's Gradio MCP server (which exists once the
    app is created).

    False if Gradio has no MCP server for it (it printed why, e.g. the `mcp` package is missing)."""
    from gradio import processing_utils, route_utils
    from mcp import types

    gradio_mcp = demo.mcp_server_obj
    if gradio_mcp is None:
        return False
    # Gradio's own tools (the page's /generate) are neither listed, nor callable, nor in /gradio_api/mcp/schema.
    gradio_mcp.tool_to_endpoint.clear()
    server = gradio_mcp.mcp_server
    tool = types.Tool(name=TOOL_NAME, description=text, inputSchema=input_schema())
    # Calls outside Gradio's queue, so they get their own cap, the same as the page's.
    slots = asyncio.Semaphore(backend.settings.concurrency)

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return [tool]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> list[Any]:
        if name != TOOL_NAME:
            raise ValueError(f"Unknown tool {name!r}; this server offers only {TOOL_NAME}.")
        context = server.request_context
        request = context.request
        agent_key = request.headers.get(KEY_HEADER) if request is not None else None
        root_url = route_utils.get_root_url(
            request=request, route_path=gradio_mcp.get_route_path(request), root_path=gradio_mcp.root_path
        )

        def file_url(path: Path) -> str:
            # A copy in Gradio's cache: served like the page's results and deleted with them (delete_cache).
            cached = processing_utils.save_file_to_cache(path, cache_dir=demo.GRADIO_CACHE)
            demo.temp_files.add(cached)
            return f"{root_url}/gradio_api/file={cached}"

        token = context.meta.progressToken if context.meta is not None else None
        heartbeat = asyncio.create_task(_progress(context, token)) if token is not None else None
        try:
            async with slots:
                done = await run_tool(backend, arguments, agent_key=agent_key, request=request)
        except SeedreamError as exc:
            raise ToolError(str(exc)) from None
        except Exception:  # a bug of ours: log it for us, tell the agent something it can act on
            log.exception("MCP generation failed")
            raise ToolError(INTERNAL_ERROR) from None
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
        return tool_content(done, file_url)

    return True


async def _progress(context: Any, token: str | int) -> None:
    """A progress notification every few seconds while Seedream works: clients that asked for progress can
    show it, and those that reset their timeout on progress do not give up on a paid call mid-way."""
    started = time.monotonic()
    while True:
        await asyncio.sleep(PROGRESS_INTERVAL_S)
        elapsed = time.monotonic() - started
        try:
            await context.session.send_progress_notification(
                token, progress=elapsed, message=f"Waiting for Seedream… {elapsed:.0f} s",
                related_request_id=str(context.request_id),
            )  # fmt: skip
        except Exception:  # the client went away; the call itself decides what happens next
            return


class ToolError(Exception):
    """Raised in a tool call: the MCP SDK answers it as a tool error (isError) with this message."""


def schema(text: str) -> list[dict[str, Any]]:
    """The tools as Gradio's /gradio_api/mcp/schema lists them (read by the page's "Use via API" MCP tab)."""
    meta = {"file_data_present": False, "mcp_type": "tool", "endpoint_name": None, "headers": [KEY_HEADER.lower()]}
    return [{"name": TOOL_NAME, "description": text, "inputSchema": input_schema(), "meta": meta}]


def launch_options(settings: Settings, backend: Backend) -> dict[str, Any]:
    """What `launch()` needs for the MCP tool: merge into its keyword arguments (app_kwargs carries a lifespan)."""
    if not settings.mcp:
        return {"mcp_server": False}
    text = description(settings.price_per_image)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        # Runs at app start-up, after Gradio created its MCP server and before any request is served.
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        if install(app.get_blocks(), backend, text):
            # Ahead of Gradio's own /schema (mounted with the MCP route), which would list Gradio's derived tools.
            listed = schema(text)
            app.router.routes.insert(0, Route("/gradio_api/mcp/schema", lambda _request: JSONResponse(listed)))
        yield

    return {"mcp_server": True, "app_kwargs": {"lifespan": lifespan}}
