"""The page's layout: its components, built column by column. Wiring and handlers live in ui.py."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gradio as gr
import pydantic
from gradio.components.gallery import GalleryData

from seedream_ui import generation as gen
from seedream_ui import (
    page_compare,  # Compare (issue 12)
    page_iterate,
    page_tray,  # the reference tray (issue 12)
    ui_limits,  # limits and cost (issue 10)
)
from seedream_ui.backend import Backend
from seedream_ui.request import MAX_REFERENCES, OPTIMIZE_MODES
from seedream_ui.sizes import DEFAULT_SIZE, presets
from seedream_ui.ui_history import build_forget, build_history  # history that survives a reload (issue 11)
from seedream_ui.ui_share import ShareControls, build_share

log = logging.getLogger("seedream_ui.ui")

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MODEL_DOCS = "https://seed.bytedance.com/en/seedream4_5"
UPLOAD_TYPES = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"]
SIZE_CHOICES = [(p.label, p.size) for p in presets()] + [("Custom width × height", "custom")]
GALLERY_REFUSAL = "The images must be a list of uploaded image files ({'image': {'path': ...}, 'caption': ...})."

HEADER = f"""
# Seedream 4.5
Generate and edit images with ByteDance's [Seedream 4.5]({MODEL_DOCS}): describe a picture, optionally add up to
{MAX_REFERENCES} reference images, and get 2K to 4K results you can download or iterate on.
"""
OFFLINE_BANNER = """
**Offline preview.** No API key is configured, so results come from a local stand-in of the Seedream API:
they are placeholder images that show what was sent. To generate real images, enter your key under
*Advanced settings → Your Seedream API key*, or set `SEEDREAM_API_KEY` in the environment or a `.env` file and restart.
"""


class _GalleryValue(GalleryData):
    """Gradio's gallery value, refused with a message for the visitor instead of pydantic's report.

    Gradio checks a gallery value against its data model before any handler of ours runs, and a malformed
    one (a string, a dict, an item without an image) would show the visitor pydantic's text.
    """

    model_config = pydantic.ConfigDict(title="GalleryData")  # the API schema stays Gradio's own

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate(obj, *args, **kwargs)
        except pydantic.ValidationError:
            log.info("Refused: a malformed gallery value")
            raise gr.Error(GALLERY_REFUSAL, title="Check your input", print_exception=False) from None


def _strict(gallery: gr.Gallery) -> gr.Gallery:
    gallery.data_model = _GalleryValue
    return gallery


class Page:
    """The page's components, laid out by the _build_* functions and wired by the _wire_* ones."""

    prompt: gr.Textbox
    prompt_info: gr.Markdown
    run: gr.Button
    stop: gr.Button
    size_preset: gr.Dropdown
    custom_row: gr.Row
    width: gr.Number
    height: gr.Number
    size: gr.Textbox
    size_info: gr.Markdown
    image: gr.Gallery
    image_urls: gr.Textbox
    watermark: gr.Checkbox
    optimize_prompt_mode: gr.Radio
    sequential_image_generation: gr.Radio
    max_images: gr.Slider
    api_key: gr.Textbox
    results: gr.Gallery
    status: gr.Markdown
    use_ref: gr.Button
    download_all: gr.DownloadButton  # holds no file: a click builds the zip ...
    zip_file: gr.DownloadButton  # ... and this invisible one hands it to the browser
    history_gallery: gr.Gallery
    sharing: ShareControls  # Share, its link, Copy recipe, Load recipe (ui_share.py)
    kept_refs: gr.State  # the uploads accepted so far, to restore when too many are added
    history: gr.State  # this browser session's generations, newest first
    saved_history: gr.BrowserState  # ... and what the browser keeps of them across reloads (ui_history.py)
    forget: gr.Button  # "Forget my history" (ui_history.py) ...
    forget_note: gr.Markdown  # ... what it does, then what it did
    selected: gr.State  # index of the result clicked in the gallery
    shown: gr.State  # the generation whose results are shown, for "Download all"
    wait: gr.HTML  # iterating (issue 12, page_iterate.py): the live wait line, ...
    keys_hint: gr.Markdown  # ... the keyboard hint ...
    sequence_hint: gr.Markdown  # ... and how to ask a sequence for N images
    tray: gr.HTML  # the references numbered as sent, with preflight and controls (page_tray.py)
    cost: gr.Markdown  # what a click can cost (ui_limits)
    session_images: gr.State  # images this session made on the demo's key (ui_limits)
    compare: page_compare.CompareControls  # the image slider and its two pickers (issue 12, page_compare.py)


def build_layout(page: Page, backend: Backend) -> None:
    """Every component of the page, in reading order, stored on `page`."""
    gr.Markdown(HEADER, elem_id="header")
    ui_limits.login_button()
    if backend.offline:
        gr.Markdown(OFFLINE_BANNER, elem_id="offline-banner")
    page.kept_refs, page.history = gr.State([]), gr.State([])
    page.selected, page.shown = gr.State(None), gr.State(None)
    build_history(page)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=320):
            _build_prompt(page, backend)
            _build_size(page)
            _build_references(page)
            _build_advanced(page, backend)
        with gr.Column(scale=6, min_width=320):
            _build_results(page)
    gr.Examples(
        examples=_examples(),
        inputs=[page.prompt, page.size, page.image, page.sequential_image_generation, page.max_images],
        cache_examples=False,  # caching would spend API calls at start-up
        label="Examples",
    )


def _build_prompt(page: Page, backend: Backend) -> None:
    page.prompt = gr.Textbox(
        label="Prompt",
        lines=3,
        max_lines=12,
        placeholder="Describe the image, e.g. a red fox reading a map in a snowy forest, watercolour",
        elem_id="prompt",
    )
    page.prompt_info = gr.Markdown(gen.prompt_hint(""), elem_id="prompt-hint", elem_classes="hint")
    with gr.Row():
        page.run = gr.Button("Generate", variant="primary", scale=3, elem_id="generate")
        page.stop = gr.Button("Stop waiting", variant="stop", scale=1, elem_id="stop")
    page_iterate.build_wait(page)
    ui_limits.build_cost(page, backend.gate)


def _build_size(page: Page) -> None:
    with gr.Column(variant="panel"):
        page.size_preset = gr.Dropdown(SIZE_CHOICES, value=DEFAULT_SIZE, label="Size", elem_id="size-preset")
        with gr.Row(visible=False) as page.custom_row:
            page.width = gr.Number(label="Width (px)", value=2048, precision=0, minimum=1, elem_id="width")
            page.height = gr.Number(label="Height (px)", value=2048, precision=0, minimum=1, elem_id="height")
        page.size = gr.Textbox(
            value=DEFAULT_SIZE, label="Size sent to the API (2K, 4K or width x height)", elem_id="size"
        )
        page.size_info = gr.Markdown(gen.size_hint(DEFAULT_SIZE), elem_id="size-hint", elem_classes="hint")


def _build_references(page: Page) -> None:
    with gr.Accordion("Edit or combine images (optional)", open=True):
        page.image = _strict(
            gr.Gallery(
                label=gen.references_label(0),
                type="filepath",
                interactive=True,
                file_types=UPLOAD_TYPES,
                columns=4,
                height=200,
                object_fit="contain",
                elem_id="references",
            )
        )
        page.image_urls = gr.Textbox(
            value="",
            label="Reference image URLs (one per line)",
            lines=2,
            placeholder="https://example.com/photo.jpg",
            elem_id="reference-urls",
        )
        page_tray.build_tray(page)


def _build_advanced(page: Page, backend: Backend) -> None:
    with gr.Accordion("Advanced settings", open=False, elem_id="advanced"):
        page.watermark = gr.Checkbox(value=True, label="Add Seedream's 'AI generated' watermark")
        page.optimize_prompt_mode = gr.Radio(
            list(OPTIMIZE_MODES), value="standard", label="Prompt optimisation", interactive=False,
            info="Seedream 4.5 supports only standard ('fast' is Seedream 4.0's)", elem_id="optimize-mode",
        )  # fmt: skip
        page.sequential_image_generation = gr.Radio(
            [("Single image", "disabled"), ("Image sequence (model decides)", "auto")],
            value="disabled",
            label="Sequential generation",
            elem_id="sequential",
        )
        page.max_images = gr.Slider(
            1,
            gen.max_images_limit(0),
            value=4,
            step=1,
            label="Max images in the sequence",
            info="Reference images plus generated images: at most 15",
            visible=False,
            elem_id="max-images",
        )
        page_iterate.build_sequence_hint(page)
        page.api_key = gr.Textbox(
            value="",
            label="Your Seedream API key",
            type="password",
            placeholder="Optional" if not backend.offline else "Paste a key to generate real images",
            info="Used only for your requests in this browser tab; never stored or shown again.",
            elem_id="api-key",
        )


def _build_results(page: Page) -> None:
    page.results = _strict(
        gr.Gallery(
            label="Results",
            type="filepath",
            columns=2,
            height="auto",
            object_fit="contain",
            buttons=["download", "fullscreen"],
            interactive=False,
            elem_id="results",
        )
    )
    page.status = gr.Markdown("", label="Status", elem_id="status")
    with gr.Row():
        page.use_ref = gr.Button("Use selected as reference", elem_id="use-as-reference")
        # A DownloadButton with no value (clicking one only fires its click event): its kind stays the same in the
        # /generate API as when it held a zip built with every generation.
        page.download_all = gr.DownloadButton("Download all (.zip)", value=None, visible=False, elem_id="download-all")
        # In the page (visible="hidden" keeps it in the DOM) so the browser can be handed the zip once it is built.
        page.zip_file = gr.DownloadButton("zip", value=None, visible="hidden", elem_id="download-all-file")
    page_compare.build_compare(page)  # Compare (issue 12): a closed accordion under the results
    page.sharing = build_share()
    with gr.Accordion("History: click an earlier generation to show it again", open=False):
        page.history_gallery = gr.Gallery(
            label="History",
            show_label=False,
            columns=4,
            height=180,
            object_fit="cover",
            interactive=False,
            elem_id="history",
        )
        build_forget(page)

def _examples() -> list[list[Any]]:
    refs = [str(ASSETS / "examples" / name) for name in ("teapot-sketch.png", "palette.png")]
    return [
        ["A red fox reading a paper map in a snowy birch forest, soft watercolour, morning light", "2560x1440",
         None, "disabled", 4],
        [("Turn the sketch into a glossy product photo of a ceramic teapot on a marble table, "
          "glazed in the colours of the palette"), "2048x2048", refs, "disabled", 4],
        ["A four-panel storyboard of a paper boat sailing from a puddle to the open sea, consistent style",
         "2K", None, "auto", 4],
    ]
