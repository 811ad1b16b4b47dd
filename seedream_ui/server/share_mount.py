"""The shared pages beside Gradio: `/s/...` routes and the hourly purge, through the app's lifespan.

Gradio 6 builds its FastAPI app inside `launch()`; the only hook into it before the first request is the
lifespan passed in `app_kwargs` (the MCP tool adds its /schema route the same way). The share routes go first
in the route list, ahead of every Gradio route, so none of Gradio's paths can shadow them. The guard's middleware
wraps them too (body caps), and passes their own headers (CSP, noindex) through untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from seedream_ui.shares import ShareStore, purge_periodically, share_router

log = logging.getLogger("seedream_ui.server")

Lifespan = Callable[[Any], Any]


def with_shares(app_kwargs: dict[str, Any], store: ShareStore) -> dict[str, Any]:
    """`app_kwargs` whose lifespan also mounts the share routes and runs the purge (then the earlier lifespan)."""
    inner: Lifespan | None = app_kwargs.get("lifespan")

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        app.router.routes[0:0] = share_router(store).routes
        purging = asyncio.create_task(purge_periodically(store))
        try:
            if inner is None:
                yield
            else:
                async with inner(app):
                    yield
        finally:
            purging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purging
            store.close()

    return {**app_kwargs, "lifespan": lifespan}
