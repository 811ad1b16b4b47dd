"""The page's Compare panel (issue 12): an image slider and the two images it compares.

Built by page.py under the results (`page_compare.build_compare(page)`); wired in ui_compare.py; which images are
on offer and which pair it starts with are in compare.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from seedream_ui import compare


@dataclass
class CompareControls:
    panel: gr.Accordion
    left: gr.Dropdown  # the image under the slider's left side ...
    right: gr.Dropdown  # ... and its right side
    slider: gr.ImageSlider
    hint: gr.Markdown  # why there is nothing to compare yet


def build_compare(page: Any) -> None:
    """Closed until wanted: most generations are not compared, and an open slider would push the history down."""
    with gr.Accordion("Compare: slide between a result and its reference or another result", open=False,
                      elem_id="compare") as panel:  # fmt: skip
        with gr.Row(equal_height=True):
            left = _picker("Left image", "compare-left")
            right = _picker("Right image", "compare-right")
        hint = gr.Markdown(compare.NOTHING_YET, elem_id="compare-hint", elem_classes="hint")
        slider = gr.ImageSlider(
            label="Compare",
            type="filepath",
            interactive=False,  # shows the session's own images; nothing is uploaded here
            buttons=["fullscreen"],  # downloads are the results gallery's
            max_height=640,
            elem_id="compare-slider",
        )
    page.compare = CompareControls(panel, left, right, slider, hint)


def _picker(label: str, elem_id: str) -> gr.Dropdown:
    return gr.Dropdown(
        choices=[],
        value=None,
        label=label,
        filterable=False,  # a phone would open its keyboard for a list of a few images
        min_width=220,  # side by side on a desktop, one above the other on a phone
        elem_id=elem_id,
    )
