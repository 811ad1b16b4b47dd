"""Wiring for the reference tray (issue 12): the tray follows the uploads and the URL box, and its actions
(remove, move earlier / later) change them. Inserting "image N", paste and drop are the browser's (assets/tray.js).

Actions come from the browser as event data: `tray.apply` checks each against the references as the server has
them, and anything else (a forged index, a stale click) changes nothing and says nothing.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from seedream_ui import tray
from seedream_ui.page import ASSETS

FAST: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}


def head() -> str:
    """The <head> addition for launch(): paste, drop, "image N" and the tray's buttons."""
    return f"<script>{(ASSETS / 'tray.js').read_text(encoding='utf-8')}</script>"


def uploads(gallery_value: Any) -> list[str]:
    """File paths out of a preprocessed Gallery value ([(path, caption)] or None)."""
    return [item[0] if isinstance(item, (tuple, list)) else item for item in gallery_value or []]


def wire(page: Any) -> None:
    def on_tray_change(gallery_value: Any, urls: Any) -> list[dict[str, Any]]:
        return tray.entries(uploads(gallery_value), urls)

    gr.on(
        [page.image.change, page.image_urls.change],
        on_tray_change,
        [page.image, page.image_urls],
        page.tray,
        trigger_mode="always_last",
        **FAST,
    )

    def on_tray_action(gallery_value: Any, urls: Any, evt: gr.EventData) -> dict[Any, Any]:
        current = uploads(gallery_value)
        changed = tray.apply(current, urls, getattr(evt, "_data", None))
        if changed is None:
            return {page.image: gr.skip(), page.kept_refs: gr.skip(), page.image_urls: gr.skip()}
        files, url_text = changed
        return {
            page.image: files if files != current else gr.skip(),
            page.kept_refs: files,
            page.image_urls: url_text if url_text != "\n".join(tray.url_lines(urls)) else gr.skip(),
        }

    page.tray.tray_action(
        on_tray_action, [page.image, page.image_urls], [page.image, page.kept_refs, page.image_urls], **FAST
    )
