"""SyncSeedreamClient: the async client behind a blocking interface, for scripts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from concurrent.futures import Future
from typing import Any, Self, TypeVar

from seedream_ui.client._async import SeedreamClient, settings_options
from seedream_ui.client._responses import GenerationResult
from seedream_ui.config import Settings
from seedream_ui.request import GenerateRequest

T = TypeVar("T")


class SyncSeedreamClient:
    """Blocking wrapper for scripts: `SyncSeedreamClient(api_key=...).generate(request)`.

    Calls run on a private event loop in a background thread, so the connection pool survives between
    calls and several threads may generate at once.
    """

    def __init__(self, **options: Any) -> None:
        self._async = SeedreamClient(**options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SyncSeedreamClient:
        return cls(**{**settings_options(settings), **overrides})

    @property
    def async_client(self) -> SeedreamClient:
        return self._async

    def __repr__(self) -> str:
        return repr(self._async).replace("SeedreamClient(", f"{type(self).__name__}(", 1)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def generate(
        self,
        request: GenerateRequest,
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> GenerationResult:
        return self._run(self._async.generate(request, api_key=api_key, headers=headers))

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._async.aclose(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. Ctrl-C in a script: stop the request instead of leaving it running
            raise

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="seedream-client", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop
