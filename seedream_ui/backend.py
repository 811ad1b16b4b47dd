"""Which API a visitor's generation goes to, and with which key.

- A key configured on the server (SEEDREAM_API_KEY): the real API, unless the visitor brings their own key.
- No key on the server (offline preview): a visitor who enters a key uses the real API with it; everyone
  else gets the local stand-in, started in-process on 127.0.0.1, so the demo works with no key at all.
Keys entered in the page live only in that visitor's request; they are never stored on the server.
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from seedream_ui.client import SeedreamClient
from seedream_ui.config import Settings
from seedream_ui.stub_api import StubConfig, StubServer


@dataclass
class Backend:
    settings: Settings
    client: SeedreamClient  # the configured endpoint
    output_root: Path
    preview_client: SeedreamClient | None = None  # the stand-in, in offline preview only
    preview_key: str | None = field(default=None, repr=False)
    stub: StubServer | None = None

    @property
    def offline(self) -> bool:
        return self.preview_client is not None

    def route(self, visitor_key: str | None) -> tuple[SeedreamClient, str | None]:
        """The client and key for one generation; the visitor's own key always wins."""
        visitor_key = (visitor_key or "").strip() or None
        if visitor_key:
            return self.client, visitor_key
        if self.preview_client is not None:
            return self.preview_client, self.preview_key
        return self.client, self.settings.api_key

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.preview_client is not None:
            await self.preview_client.aclose()

    def close(self) -> None:
        if self.stub is not None:
            self.stub.stop()
        shutil.rmtree(self.output_root, ignore_errors=True)


def create_backend(settings: Settings) -> Backend:
    output_root = Path(tempfile.mkdtemp(prefix="seedream-ui-"))
    backend = Backend(settings, SeedreamClient.from_settings(settings), output_root)
    if settings.offline:
        # A random key shared only between this process and its own stand-in.
        backend.preview_key = secrets.token_urlsafe(16)
        backend.stub = StubServer(StubConfig(api_key=backend.preview_key))
        backend.stub.start()
        backend.preview_client = SeedreamClient.from_settings(settings, api_url=backend.stub.url, max_retries=0)
    atexit.register(backend.close)
    return backend
