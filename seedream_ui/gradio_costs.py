"""Work Gradio 6.31 repeats for every session that this demo does once, or only when needed (issue 9,
docs/benchmarks.md).

Every new Gradio session builds the config of every block of the page (`SessionState.__init__` →
`config_for_block`): once per page load, and once per API call, since each `/gradio_api/call/...` starts a
session of its own. With this page's 60 blocks that was ~21 ms of CPU per call, a third of a generation's.

- `gr.UploadButton` (the "Load recipe" button) asks pydantic for the JSON schema of FileData three times per
  session (`api_info`, as input, as output), ~1.5 ms each. The schema depends only on `file_count`: it is built
  once per `file_count` and handed out as a copy (the caller owns the dict it gets, as before).
- The per-session configs (`SessionState.config_values`) are a snapshot Gradio reads only for deep links
  (`/gradio_api/deep_link`, `gr.DeepLinkButton`), which this demo does not offer (README says why). Gradio's
  own code already builds a block's entry when a session first changes it (`_update_value_in_config`,
  `_update_config`, `__setitem__`), so a session starts with none and builds only the ones it changes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import gradio
from gradio.components.upload_button import UploadButton
from gradio.state_holder import SessionState

_schemas: dict[str, Any] = {}


def _cached(original: Callable[[UploadButton], Any]) -> Callable[[UploadButton], Any]:
    def api_info(self: UploadButton) -> Any:
        key = str(self.file_count)
        if key not in _schemas:
            _schemas[key] = original(self)
        return copy.deepcopy(_schemas[key])

    api_info.__wrapped__ = original  # type: ignore[attr-defined]
    return api_info


class _NoSnapshot:
    """What SessionState.__init__ reads of the Blocks: the default config, and the blocks to snapshot (none)."""

    def __init__(self, blocks: Any) -> None:
        self.default_config = blocks.default_config
        self.blocks: dict[int, Any] = {}


def _lazy(original: Callable[[SessionState, Any], None]) -> Callable[[SessionState, Any], None]:
    def __init__(self: SessionState, blocks: Any) -> None:
        original(self, _NoSnapshot(blocks))

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    return __init__


# The SessionState.__init__ that _lazy was read against; another Gradio keeps its own (and its cost).
LAZY_SESSIONS_FOR = "6.31.0"


def install() -> None:
    """Both savings; safe to call more than once."""
    if not hasattr(UploadButton.api_info, "__wrapped__"):
        UploadButton.api_info = _cached(UploadButton.api_info)  # type: ignore[method-assign,assignment]
    if gradio.__version__ == LAZY_SESSIONS_FOR and not hasattr(SessionState.__init__, "__wrapped__"):
        SessionState.__init__ = _lazy(SessionState.__init__)  # type: ignore[method-assign,assignment]
