"""Wiring for iterating (issue 12): the wait line with elapsed time and an estimate, Stop, the status after a
failure, the sequence hint, and the page's keyboard script (assets/iterate.js)."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from seedream_ui import waits
from seedream_ui.backend import Backend
from seedream_ui.page import ASSETS

FAST: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}

# After a failure the message is in Gradio's error toast (the handler raised gr.Error with it): the status line
# repeats it, and says that the results shown are earlier ones. Runs in the browser: a failed event hands the
# server nothing to answer with.
_FAILED_STATUS = """async () => {
    let message = "";
    for (let i = 0; i < 40 && !message; i++) {  // the toast is added as the error arrives: wait for it, briefly
        const toasts = document.querySelectorAll('[data-testid=toast-body].error');
        const last = toasts[toasts.length - 1];
        const parts = last?.querySelectorAll('.toast-message-text, .toast-msg');
        message = parts?.length ? parts[parts.length - 1].innerText.trim() : "";
        if (!message) await new Promise(r => setTimeout(r, 50));
    }
    const earlier = document.querySelector('#results .thumbnail-item')
        ? " The results below are from an earlier generation." : "";
    return ["✗ The last attempt failed: " + (message || "see the message above.") + earlier, ""];
}"""


def head() -> str:
    """The <head> addition for launch(): the keyboard shortcuts and the elapsed-time counter."""
    return f"<script>{(ASSETS / 'iterate.js').read_text(encoding='utf-8')}</script>"


def wait_html(backend: Backend, size: object, sequential: object, max_images: object) -> str:
    estimate = html.escape(waits.estimate_text(backend.wait_times, size, sequential, max_images))
    return (
        '<div class="waiting" role="status">Waiting for Seedream: <span class="elapsed">0 s</span>'
        f' · <span class="estimate">{estimate}</span></div>'
    )


def wire_first(page: Any, backend: Backend) -> None:
    """Listeners that share a trigger with earlier ones (Generate, Stop, the sequence controls).

    Registered before the page's own: in Gradio 6.31 a second listener on a button's click did not fire when it
    was registered after the queued generate event (seen in the browser: no request was sent for it).
    """

    def on_start(size: Any, sequential: Any, max_images: Any) -> str:
        return wait_html(backend, size, sequential, max_images)

    page.run.click(on_start, [page.size, page.sequential_image_generation, page.max_images], page.wait, **FAST)

    def on_stop(wait: Any, shown: Any) -> dict[Any, Any]:
        if not wait:  # nothing was waiting: Stop has nothing to say
            return {page.wait: gr.skip(), page.status: gr.skip()}
        return {page.wait: "", page.status: waits.stopped_status(shown is not None)}

    page.stop.click(on_stop, [page.wait, page.shown], [page.wait, page.status], **FAST)

    def on_sequence(sequential: Any, max_images: Any) -> Any:
        return gr.Markdown(waits.sequence_hint(max_images), visible=sequential == "auto")

    gr.on(
        [page.sequential_image_generation.change, page.max_images.change],
        on_sequence,
        [page.sequential_image_generation, page.max_images],
        page.sequence_hint,
        **FAST,
    )


def wire(page: Any, event: Any) -> None:
    """The steps after the generate `event`: the wait line goes, and after a failure the status says why."""
    event.then(lambda: "", None, page.wait, **FAST)
    # The wait line goes here too: the failure can come back before the `then` step has run.
    event.failure(None, None, [page.status, page.wait], js=_FAILED_STATUS, api_visibility="private")
