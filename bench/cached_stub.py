"""`python -m bench.cached_stub ARGS`: the stand-in (same CLI, protocol, validation, latency) with its drawing
cached per size, so that it uses next to no CPU per request.

Only for separating the app's own cost from the stand-in's on a 2-core machine: the real stand-in draws and
encodes a new JPEG for every request, work that the real API does on its own hardware. Cached images carry the
first request's marker, so this variant is never used where markers matter.
"""

from __future__ import annotations

import functools
import sys

from seedream_ui import stub_api

_draw = stub_api.render_set


@functools.lru_cache(maxsize=16)
def _cached(width: int, height: int, count: int, image_format: str, indices: tuple[int, ...] | None) -> list[bytes]:
    pictures = stub_api.PictureSet(prompt="cached", width=width, height=height, count=count)
    return _draw(pictures, image_format, indices)  # type: ignore[arg-type]


def render_set(pictures: stub_api.PictureSet, image_format: str, indices: object = None) -> list[bytes]:
    key = tuple(indices) if indices is not None else None  # type: ignore[call-overload]
    return _cached(pictures.width, pictures.height, pictures.count, image_format, key)


stub_api.render_set = render_set  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(stub_api.main())
