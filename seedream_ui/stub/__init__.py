"""A local stand-in for the Seedream 4.5 HTTP API: real HTTP, real validation, injectable faults.

Tests, benchmarks and the offline preview talk to it instead of the paid endpoint. Its validation (`rules`) is
written straight from the API reference page, independently of seedream_ui/request.py, so that contract tests
catch a bug in our client-side validator instead of mirroring it. Run it with `python -m seedream_ui.stub --help`.

    with StubServer(StubConfig(latency=0.0)) as stub:
        httpx.post(stub.url, headers={"Authorization": "Bearer k"}, json={"prompt": "a fox"})

Modules: `rules` (the page's rules), `faults` (name -> behaviour), `records` (what it remembers), `server`
(the app and StubServer), `images`/`draw` (the pictures), `config` (StubConfig and X-Stub-* headers), `cli`.
"""

from seedream_ui.stub.config import IMAGE_FORMATS, RESPONSE_FORMATS, StubConfig
from seedream_ui.stub.faults import FAULTS
from seedream_ui.stub.http import error_response
from seedream_ui.stub.images import PictureSet, Reference, read_marker, render_set
from seedream_ui.stub.records import StubState
from seedream_ui.stub.rules import InvalidArgument, Plan, validate_body
from seedream_ui.stub.running import StubServer
from seedream_ui.stub.server import ENDPOINT_PATH, IMAGES_PATH, Renderer, create_app

__all__ = [
    "ENDPOINT_PATH",
    "FAULTS",
    "IMAGES_PATH",
    "IMAGE_FORMATS",
    "RESPONSE_FORMATS",
    "InvalidArgument",
    "PictureSet",
    "Plan",
    "Reference",
    "Renderer",
    "StubConfig",
    "StubServer",
    "StubState",
    "create_app",
    "error_response",
    "read_marker",
    "render_set",
    "validate_body",
]
