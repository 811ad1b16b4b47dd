"""Which API a visitor's generation goes to, and with which key; where results are kept, and for how long.

- A key configured on the server (SEEDREAM_API_KEY): the real API, unless the visitor brings their own key.
- No key on the server (offline preview): a visitor who enters a key uses the real API with it; everyone
  else gets the local stand-in, started in-process on 127.0.0.1, so the demo works with no key at all.
Keys entered in the page live only in that visitor's request; they are never stored on the server.
"""

from __future__ import annotations

import asyncio
import atexit
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from seedream_ui.client import NO_KEY_MESSAGE, SeedreamClient
from seedream_ui.config import Settings
from seedream_ui.errors import AuthenticationError, ValidationError
from seedream_ui.outputs import RESULT_MAX_AGE_S, purge_older_than
from seedream_ui.quotas import QuotaGate
from seedream_ui.request import type_name
from seedream_ui.stub_api import StubConfig, StubServer
from seedream_ui.waits import WaitTimes

# Purging lists every result folder (58 ms at 10,000 of them): once a minute is plenty.
PURGE_INTERVAL_S = 60.0
# Far longer than any real key; a longer value is refused before it reaches a header (or a log).
MAX_API_KEY_CHARS = 1024



@dataclass
class Backend:
    settings: Settings
    client: SeedreamClient  # the configured endpoint
    output_root: Path
    preview_client: SeedreamClient | None = None  # the stand-in, in offline preview only
    preview_key: str | None = field(default=None, repr=False)
    stub: StubServer | None = None
    last_purge: float | None = None  # time.monotonic() of the last purge of old results
    wait_times: WaitTimes = field(default_factory=WaitTimes)  # recent durations, for the page's estimate
    gate: QuotaGate | None = None  # visitor quotas on the server's key (issue 10); None only in unit tests

    @property
    def offline(self) -> bool:
        return self.preview_client is not None

    def route(self, visitor_key: object) -> tuple[SeedreamClient, str]:
        """The client and key for one generation; the visitor's own key always wins.

        The one place that decides which key is used, and that there is none.
        """
        if visitor_key is not None and not isinstance(visitor_key, str):
            raise ValidationError(f"The API key must be text, not {type_name(visitor_key)}.", field="api_key")
        if visitor_key is not None and len(visitor_key) > MAX_API_KEY_CHARS:
            raise ValidationError(
                f"The API key is {len(visitor_key):,} characters long; keys are at most {MAX_API_KEY_CHARS:,}.",
                field="api_key",
            )
        own = (visitor_key or "").strip()
        if own:
            return self.client, own
        if self.preview_client is not None and self.preview_key:
            return self.preview_client, self.preview_key
        if self.settings.api_key:
            return self.client, self.settings.api_key
        raise AuthenticationError(NO_KEY_MESSAGE)

    def purge_due(self, now: float | None = None) -> bool:
        """Whether old results should be purged now; at most once per PURGE_INTERVAL_S."""
        now = time.monotonic() if now is None else now
        if self.last_purge is not None and now - self.last_purge < PURGE_INTERVAL_S:
            return False
        self.last_purge = now
        return True

    async def purge_old_results(self) -> None:
        """Delete result folders older than RESULT_MAX_AGE_S, on a worker thread, when due."""
        if self.purge_due():
            await asyncio.to_thread(purge_older_than, self.output_root, RESULT_MAX_AGE_S)

    async def aclose(self) -> None:
        """Close the clients' connection pools (from the event loop that used them)."""
        await self.client.aclose()
        if self.preview_client is not None:
            await self.preview_client.aclose()

    def close(self) -> None:
        """Close the clients, stop the stand-in and delete every result; safe to call more than once.

        Called at shutdown (atexit) from a thread with no event loop running.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self.aclose())  # the pools' own loop closes them if it still runs (see aclose)
        if self.stub is not None:
            self.stub.stop()
        if self.gate is not None:
            self.gate.close()
        shutil.rmtree(self.output_root, ignore_errors=True)


def results_folder() -> Path:
    """A private folder for results inside Gradio's own cache folder.

    Gradio serves files from its cache folder as they are; any other file it first copies there and hashes
    (SHA-256 of every byte), which doubled the disk writes of every generation for nothing.
    """
    from gradio.utils import get_upload_folder  # the folder Gradio's Blocks use as their cache

    cache = Path(get_upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="seedream-ui-", dir=cache))


def create_backend(settings: Settings) -> Backend:
    backend = Backend(settings, SeedreamClient.from_settings(settings), results_folder())
    backend.gate = QuotaGate.from_settings(settings)
    if settings.offline:
        # A random key shared only between this process and its own stand-in.
        backend.preview_key = secrets.token_urlsafe(16)
        backend.stub = StubServer(StubConfig(api_key=backend.preview_key, latency=settings.preview_latency))
        backend.stub.start()
        backend.preview_client = SeedreamClient.from_settings(settings, api_url=backend.stub.url, max_retries=0)
    atexit.register(backend.close)
    return backend
