"""The page's components for iterating (issue 12): the wait line, the keyboard hint and the sequence hint.

Called from page.py's builders at their place in the layout; wired in ui_iterate.py."""

from __future__ import annotations

from typing import Any

import gradio as gr

from seedream_ui import waits

KEYS_HINT = "Ctrl+Enter (⌘+Enter on a Mac) in the prompt generates · Esc stops waiting"


def build_wait(page: Any) -> None:
    """Under Generate / Stop: the live wait line (empty when idle) and the keyboard hint."""
    page.wait = gr.HTML("", elem_id="wait", padding=False)
    page.keys_hint = gr.Markdown(KEYS_HINT, elem_id="keys-hint", elem_classes="hint")


def build_sequence_hint(page: Any) -> None:
    """Under *max images*: how to ask for N images, shown only for sequences."""
    page.sequence_hint = gr.Markdown(
        waits.sequence_hint(4), visible=False, elem_id="sequence-hint", elem_classes="hint"
    )
