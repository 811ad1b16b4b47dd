"""The per-session savings of seedream_ui/gradio_costs.py change nothing a browser or API caller receives."""

from __future__ import annotations

import gradio as gr

from seedream_ui import gradio_costs


def test_an_upload_buttons_schema_is_the_one_gradio_builds_and_each_caller_gets_its_own_copy() -> None:
    gradio_costs.install()
    gradio_costs.install()  # twice: still one layer
    original = gr.UploadButton.api_info.__wrapped__  # type: ignore[attr-defined]
    assert not hasattr(original, "__wrapped__")
    single = gr.UploadButton("Load recipe (.json)", file_types=[".json"], type="filepath", render=False)
    several = gr.UploadButton("Files", file_count="multiple", render=False)

    for button in (single, several, single, several):
        assert button.api_info() == original(button)
    assert single.api_info() != several.api_info()

    first = single.api_info()
    first["title"] = "changed by a caller"
    assert single.api_info() == original(single)
