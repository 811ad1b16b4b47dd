"""The per-session savings of seedream_ui/gradio_costs.py change nothing a browser or API caller receives."""

from __future__ import annotations

import gradio as gr
from gradio.state_holder import SessionState

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


def test_a_session_builds_a_blocks_config_only_when_it_changes_it_and_the_same_as_gradio_would() -> None:
    gradio_costs.install()
    original = SessionState.__init__.__wrapped__  # type: ignore[attr-defined]
    with gr.Blocks() as demo:
        box = gr.Textbox(label="prompt")
        gr.Markdown("status")

    lazy = SessionState(demo)
    eager = SessionState.__new__(SessionState)
    original(eager, demo)

    assert lazy.config_values == {} and len(eager.config_values) == len(demo.blocks)
    lazy._update_value_in_config(box._id, "a lighthouse")
    eager._update_value_in_config(box._id, "a lighthouse")
    assert lazy.config_values[box._id] == eager.config_values[box._id]
    assert lazy.config_values[box._id]["props"]["value"] == "a lighthouse"
    assert lazy[box._id] is eager[box._id] is box and lazy.blocks_config.blocks == eager.blocks_config.blocks
