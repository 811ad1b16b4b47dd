"""The Seedream 4.5 API client: one pooled httpx.AsyncClient, typed results, one error hierarchy.

    async with SeedreamClient(api_key="...") as client:
        result = await client.generate(GenerateRequest(prompt="a lighthouse at dusk", size="2K"))
        result.images[0].data  # bytes, already checked to decode as an image

`SyncSeedreamClient` offers the same for scripts. Retries are deliberately narrow: a generation is paid
for, so a request is only sent again when the API certainly did not do the work (429, 502/503/504, or
no connection at all). The API key never appears in an exception, a log line or a repr.

Layout: `_async` (the pooled client: POST with retries, result downloads), `_errors` (status and transport
failures -> errors, scrubbing), `_responses` (result types, parsing and checking images), `_retry` (retry
policy), `sync` (the blocking wrapper).
"""

from seedream_ui.client._async import SeedreamClient
from seedream_ui.client._limits import ResultLimits
from seedream_ui.client._responses import GeneratedImage, GenerationResult
from seedream_ui.client._retry import RETRY_STATUSES, parse_retry_after
from seedream_ui.client._scrub import install_log_filter
from seedream_ui.client.sync import SyncSeedreamClient
from seedream_ui.config import DEFAULT_API_URL

install_log_filter()

__all__ = [
    "DEFAULT_API_URL",
    "RETRY_STATUSES",
    "GeneratedImage",
    "GenerationResult",
    "ResultLimits",
    "SeedreamClient",
    "SyncSeedreamClient",
    "parse_retry_after",
]
