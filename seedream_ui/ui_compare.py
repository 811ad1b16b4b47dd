"""Wiring for Compare (issue 12): the choices follow the results and the history, a click on a result puts it on
the slider's right, and picking a left or right image shows the pair.

    wire_compare(page, backend)   # in ui.py, after the page's own result listeners

Every handler is private and answers outside the queue: it only reads the session's state and lists files
already on the server. The browser names images by key; compare.py turns a key back into a file only if it is
one of this session's own results or uploads, so a forged or stale key changes nothing, quietly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from seedream_ui import compare
from seedream_ui.backend import Backend
from seedream_ui.compare import Choice, Roots

# preprocess=False: the dropdowns' values reach the handlers as the browser sent them, to be checked by compare.py
# (Gradio's own check of a value not among the choices would answer with an error naming every choice).
QUIET: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private", "preprocess": False}


def slider_value(left: str | None, right: str | None, listed: Sequence[Choice]) -> tuple[str, str] | None:
    """The slider's (left, right) files, or None unless both keys name an image on offer."""
    paths = compare.resolve(left, listed), compare.resolve(right, listed)
    return (str(paths[0]), str(paths[1])) if paths[0] is not None and paths[1] is not None else None


def wire_compare(page: Any, backend: Backend) -> None:
    controls = page.compare
    roots = Roots(results=backend.output_root, uploads=Path(get_upload_folder()))

    def listed(shown: Any, history: Any) -> list[Choice]:
        return compare.choices(shown, history, roots)

    def on_new(shown: Any, history: Any, selected: Any) -> dict[Any, Any]:
        """New results shown (a generation, a history click) or the history changed: fresh choices and pair."""
        found = listed(shown, history)
        left, right = compare.default_pair(shown, history, selected, found)
        options = [(c.label, c.key) for c in found]
        note = compare.hint(found)
        return {
            controls.left: gr.Dropdown(choices=options, value=left),
            controls.right: gr.Dropdown(choices=options, value=right),
            controls.slider: slider_value(left, right, found),
            controls.hint: gr.Markdown(note, visible=bool(note)),
        }

    # The history gallery, not the history State: a State's change event makes Gradio hash its value after every
    # event, and a Generation (its request record is a dict) cannot be hashed: the generation would fail.
    gr.on(
        [page.results.change, page.history_gallery.change],
        on_new,
        [page.shown, page.history, page.selected],
        [controls.left, controls.right, controls.slider, controls.hint],
        trigger_mode="always_last",
        **QUIET,
    )

    def on_result_click(left: Any, shown: Any, history: Any, evt: gr.SelectData) -> dict[Any, Any]:
        found = listed(shown, history)
        pair = compare.pair_after_select(left, evt.index, shown, history, found)
        if pair is None:  # a stale or forged click: the slider stays as it was
            return gr.skip()  # not {}: Gradio 6.31 takes an empty dict for one value, not "no update"
        return {
            controls.left: gr.Dropdown(value=pair[0]),
            controls.right: gr.Dropdown(value=pair[1]),
            controls.slider: slider_value(*pair, found),
        }

    page.results.select(
        on_result_click,
        [controls.left, page.shown, page.history],
        [controls.left, controls.right, controls.slider],
        **QUIET,
    )

    def on_pick(left: Any, right: Any, shown: Any, history: Any) -> Any:
        value = slider_value(left, right, listed(shown, history))
        return gr.skip() if value is None else value  # a key not on offer (stale, forged): nothing changes

    gr.on(
        [controls.left.input, controls.right.input],
        on_pick,
        [controls.left, controls.right, page.shown, page.history],
        controls.slider,
        **QUIET,
    )
