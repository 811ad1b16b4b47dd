"""Turn what a user gives as reference images (files, bytes, PIL images, URLs) into values the API accepts.

URLs pass through unchanged: this server never fetches a URL a user typed. Image bytes become
`data:image/<format>;base64,...`. A file the API surely accepts is sent byte for byte, without decoding it
(the fast path); one too large in bytes or pixels, rotated by EXIF, animated, or in an unusual pixel mode is
decoded, made upright, downscaled and re-encoded. Image dimensions are checked from the header, before any
decoding, so a small file that claims a huge image (a decompression bomb) is refused cheaply.

Servers call `prepare_references_async`: all the work runs on a small shared thread pool under a process-wide
budget of decode memory (`budget.py`), with limits by format and per request (`limits.py`, which says why
each number is what it is). `prepare_reference(s)` do the same work in the calling thread, for scripts.

    core.py     the prepare_* functions: order, threads, budget, per-request cap
    stage.py    one source from its header: refusals, fast path, or the conversion to do
    checks.py   what a header tells: format, geometry, whether the bytes can be sent as they are
    convert.py  decode, convert, shrink, re-encode, Base64
    limits.py   the limits and the memory estimate
    budget.py   the shared pool and decode budget
    urls.py     URLs typed by users
"""

from seedream_ui.references.budget import (
    WORKERS,
    DecodeBudget,
    decode_budget,
    set_decode_budget,
)
from seedream_ui.references.convert import _B64_PIECE, JPEG_QUALITY
from seedream_ui.references.convert import data_uri as _data_uri
from seedream_ui.references.core import (
    prepare_reference,
    prepare_references,
    prepare_references_async,
)
from seedream_ui.references.limits import (
    DECODE_BUDGET_BYTES,
    MAX_ASPECT_RATIO,
    MAX_DECODE_PIXELS,
    MAX_FILE_BYTES,
    MAX_FULL_DECODE_PIXELS,
    MAX_REFERENCE_BYTES,
    MAX_REFERENCE_PIXELS,
    MAX_REQUEST_DECODE_PIXELS,
    MIN_SIDE,
    decode_cost,
)
from seedream_ui.references.stage import PreparedReference, Source
from seedream_ui.references.urls import parse_url_lines, url_problem

__all__ = [
    "DECODE_BUDGET_BYTES",
    "JPEG_QUALITY",
    "MAX_ASPECT_RATIO",
    "MAX_DECODE_PIXELS",
    "MAX_FILE_BYTES",
    "MAX_FULL_DECODE_PIXELS",
    "MAX_REFERENCE_BYTES",
    "MAX_REFERENCE_PIXELS",
    "MAX_REQUEST_DECODE_PIXELS",
    "MIN_SIDE",
    "WORKERS",
    "_B64_PIECE",
    "DecodeBudget",
    "PreparedReference",
    "Source",
    "_data_uri",
    "decode_budget",
    "decode_cost",
    "parse_url_lines",
    "prepare_reference",
    "prepare_references",
    "prepare_references_async",
    "set_decode_budget",
    "url_problem",
]
