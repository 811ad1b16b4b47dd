"""The stand-in API's historical entry point, kept so that `python -m seedream_ui.stub_api` and
`from seedream_ui.stub_api import StubServer` keep working. The code lives in the `seedream_ui.stub` package.
"""

from __future__ import annotations

from collections.abc import Sequence

from seedream_ui.stub import (
    ENDPOINT_PATH,
    FAULTS,
    IMAGE_FORMATS,
    RESPONSE_FORMATS,
    InvalidArgument,
    PictureSet,
    Plan,
    Reference,
    StubConfig,
    StubServer,
    StubState,
    cli,
    create_app,
    error_response,
    read_marker,
    render_set,
    validate_body,
)

__all__ = [
    "ENDPOINT_PATH",
    "FAULTS",
    "IMAGE_FORMATS",
    "RESPONSE_FORMATS",
    "InvalidArgument",
    "PictureSet",
    "Plan",
    "Reference",
    "StubConfig",
    "StubServer",
    "StubState",
    "create_app",
    "error_response",
    "main",
    "read_marker",
    "render_set",
    "validate_body",
]


def main(argv: Sequence[str] | None = None) -> int:
    # Draw through this module's `render_set` looked up at call time: bench/cached_stub.py replaces it here.
    return cli.main(
        argv, prog="python -m seedream_ui.stub_api",
        renderer=lambda pictures, image_format, indices: render_set(pictures, image_format, indices),  # type: ignore[arg-type]
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
