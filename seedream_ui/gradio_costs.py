"""Work Gradio 6.31 repeats for every session that this demo does once (issue 9, docs/benchmarks.md).

Every new Gradio session builds the page's config block by block (`SessionState.__init__` →
`config_for_block`): once per page load, and once per API call, since each `/gradio_api/call/...` starts a
session of its own. For a `gr.UploadButton` (the "Load recipe" button) that asks pydantic for the JSON schema of
FileData three times (`api_info`, as input, as output), ~1.5 ms each: more than half of what a session of this
page cost (11 of ~21 ms, measured with bench/lean.py). The schema depends only on `file_count`, so it is built
once per `file_count` and handed out as a copy (the caller owns the dict it gets, as before).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from gradio.components.upload_button import UploadButton

_schemas: dict[str, Any] = {}


def _cached(original: Callable[[UploadButton], Any]) -> Callable[[UploadButton], Any]:
    def api_info(self: UploadButton) -> Any:
        key = str(self.file_count)
        if key not in _schemas:
            _schemas[key] = original(self)
        return copy.deepcopy(_schemas[key])

    api_info.__wrapped__ = original  # type: ignore[attr-defined]
    return api_info


def install() -> None:
    """Cache UploadButton's API schema; safe to call more than once."""
    if not hasattr(UploadButton.api_info, "__wrapped__"):
        UploadButton.api_info = _cached(UploadButton.api_info)  # type: ignore[method-assign,assignment]
