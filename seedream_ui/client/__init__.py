"""The Seedream 4.5 API client: one pooled httpx.AsyncClient, typed results, one error hierarchy.

    async with SeedreamClient(api_key="...") as client:
        result = await client.generate(GenerateRequest(prompt="a lighthouse at dusk", size="2K"))
        result.images[0].data  # bytes, already checked to decode as an image

`SyncSeedreamClient` offers the same for scripts. Retries are deliberately narrow: a generation is paid
for, so the POST is only sent again when the API cannot have done the work:
- 429 (rate limited) and 503 (unavailable): by RFC 9110/6585 the request was turned away unhandled;
- no connection at all, or a connection closed while the request was still being written (a pooled
  keep-alive connection the server dropped): no complete request ever arrived.
Never on 502 or 504: the router documents no status semantics, and a gateway answers those after it
forwarded the request, so the upstream may still be generating (and billing) the first try. Never on a
timeout or a connection dropped after the request was sent, nor on anything after a 2xx. Result
downloads are free GETs and retry any transient failure. Everything runs under one deadline per
generation (`generation_timeout`, SEEDREAM_GENERATION_TIMEOUT) and under the byte, pixel and count caps of
`ResultLimits`. The API key never appears in an exception, a log line or a repr, nor do credentials or the
query string of a URL.

Layout: `_async` (the pooled client: POST with retries, result downloads), `_errors` (status and transport
failures -> errors, scrubbing), `_responses` (result types, parsing and checking images), `_retry` (retry
policy), `sync` (the blocking wrapper).
"""

from seedream_ui.client._async import NO_KEY_MESSAGE, SeedreamClient
from seedream_ui.client._limits import ResultLimits
from seedream_ui.client._responses import GeneratedImage, GenerationResult
from seedream_ui.client._retry import RETRY_STATUSES, parse_retry_after
from seedream_ui.client._scrub import install_log_filter
from seedream_ui.client.sync import SyncSeedreamClient
from seedream_ui.config import DEFAULT_API_URL

install_log_filter()

__all__ = [
    "DEFAULT_API_URL",
    "NO_KEY_MESSAGE",
    "RETRY_STATUSES",
    "GeneratedImage",
    "GenerationResult",
    "ResultLimits",
    "SeedreamClient",
    "SyncSeedreamClient",
    "parse_retry_after",
]
