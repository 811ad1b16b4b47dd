"""Serving the demo: the one way `python app.py` and the tests start it.

Gradio's own `launch()` still runs the server (so theme, CSS, footer, upload limit and a Hugging Face Space work
as Gradio documents them); around it:
- the queue is the only way in for queued endpoints (`api_open=False`, plus the guard's clear refusal) and has a
  maximum (SEEDREAM_QUEUE_MAX);
- `Guard` (guard.py), an ASGI middleware passed through `launch(app_kwargs=...)`, caps bodies, counts uploads per
  client address and refuses file records that would make the server fetch a URL;
- every server-side download Gradio could make goes through one transport that refuses it (belt and braces
  for the guard);
- shutdown ends in-flight generations at once and deletes their uploads and results.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
import httpx
from gradio import processing_utils
from starlette.middleware import Middleware

from seedream_ui import mcp_tool
from seedream_ui.backend import Backend, create_backend
from seedream_ui.config import Settings
from seedream_ui.references import set_decode_budget
from seedream_ui.request import MAX_REFERENCES
from seedream_ui.server.guard import NO_FETCH, Guard
from seedream_ui.server.share_mount import with_shares
from seedream_ui.server.uploads import MULTIPART_OVERHEAD, UploadLedger
from seedream_ui.shares import ShareStore
from seedream_ui.ui import build_demo, launch_options

log = logging.getLogger("seedream_ui.server")

# Seconds uvicorn waits for open connections (event streams of running generations) before cancelling them.
# Gradio leaves this unset, so a stop waited for every generation, then was cut off by a 5 s thread join.
SHUTDOWN_GRACE_S = 0.3


class NoFetchTransport(httpx.AsyncBaseTransport):
    """Gradio downloads a file record's `path` when it is a URL (processing_utils.async_ssrf_protected_get,
    used for every component's input); its module-level `async_transport` is the one door all those go through."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        log.warning("refused a server-side download of %s://%s", request.url.scheme, request.url.host)
        raise ValueError(NO_FETCH)


@dataclass
class Served:
    demo: gr.Blocks
    backend: Backend
    uploads: UploadLedger
    url: str  # ends with "/"

    @property
    def running(self) -> bool:
        return bool(self.demo.is_running)

    def close(self) -> None:
        """Stop serving: running generations end, their uploads and results are deleted."""
        self.demo.close(verbose=False)
        removed = self.uploads.purge()
        self.backend.close()
        if removed:
            log.info("deleted %d uploads", removed)


def serve(settings: Settings, *, host: str | None = None, port: int | None = None, quiet: bool = False) -> Served:
    """Build and launch the demo; host and port default to Gradio's (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)."""
    set_decode_budget(settings.decode_memory_bytes)  # SEEDREAM_DECODE_MEMORY_MB, for every visitor's references
    backend = create_backend(settings)
    # Shared links (SEEDREAM_DATA_DIR/shares); SEEDREAM_SHARE_DAYS=0 switches them off and hides the button.
    shares = ShareStore.from_settings(settings) if settings.share_days > 0 else None
    demo = build_demo(settings, backend, shares)
    ledger = UploadLedger(
        per_minute=settings.uploads_per_minute,
        quota_bytes=settings.upload_quota_bytes,
        max_request_bytes=MAX_REFERENCES * settings.max_upload_bytes + MULTIPART_OVERHEAD,
    )
    processing_utils.async_transport = NoFetchTransport()  # type: ignore[assignment]
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_max, api_open=False)
    guard = Middleware(Guard, ledger=ledger, queued_names=lambda: _queued_names(demo))
    options = launch_options(settings) | mcp_tool.launch_options(settings, backend)
    # The MCP tool brings its own app_kwargs (a lifespan); the guard's middleware joins them.
    app_kwargs = {**options.pop("app_kwargs", {}), "middleware": [guard]}
    if shares is not None:
        app_kwargs = with_shares(app_kwargs, shares)  # /s/... beside Gradio, and the hourly purge
    demo.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        quiet=quiet,
        app_kwargs=app_kwargs,
        **options,
    )
    if demo.server is not None:
        demo.server.config.timeout_graceful_shutdown = SHUTDOWN_GRACE_S  # type: ignore[assignment]
    return Served(demo, backend, ledger, demo.local_url or "")


def _queued_names(demo: gr.Blocks) -> set[str]:
    fns: dict[Any, Any] = demo.fns
    return {fn.api_name for fn in fns.values() if fn.queue and fn.api_name}
