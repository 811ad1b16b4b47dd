"""Moved to `seedream_ui.stub.images` (drawing in `seedream_ui.stub.draw`); re-exported for older imports."""

from seedream_ui.stub.images import (
    MARKER_KEY,
    ImageFormat,
    PictureSet,
    Reference,
    encode_marker,
    read_marker,
    render_set,
)

__all__ = ["MARKER_KEY", "ImageFormat", "PictureSet", "Reference", "encode_marker", "read_marker", "render_set"]
