"""The page: widgets and their wiring. Logic lives in generation.py and below; this only lays out and maps
errors to messages."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gradio as gr

from seedream_ui import generation as gen
from seedream_ui.backend import Backend, create_backend
from seedream_ui.config import Settings, load_settings
from seedream_ui.errors import (
    APIError,
    AuthenticationError,
    ContentPolicyError,
    RateLimitError,
    SeedreamError,
    ValidationError,
)
from seedream_ui.request import MAX_REFERENCES, OPTIMIZE_MODES
from seedream_ui.sizes import DEFAULT_SIZE, presets

log = logging.getLogger("seedream_ui.ui")

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MODEL_DOCS = "https://seed.bytedance.com/en/seedream4_5"
UPLOAD_TYPES = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"]
SIZE_CHOICES = [(p.label, p.size) for p in presets()] + [("Custom width × height", "custom")]

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

_TITLES: list[tuple[type[SeedreamError], str]] = [
    (ValidationError, "Check your input"),
    (AuthenticationError, "API key problem"),
    (ContentPolicyError, "Refused by Seedream"),
    (RateLimitError, "Rate limited"),
    (APIError, "Seedream API error"),
    (SeedreamError, "Error"),
]


def _error(exc: SeedreamError) -> gr.Error:
    title = next(t for cls, t in _TITLES if isinstance(exc, cls))
    return gr.Error(str(exc), title=title, print_exception=False)


def _paths(gallery_value: Any) -> list[str]:
    """File paths out of a Gallery value ([(path, caption)], [path] or None)."""
    return [item[0] if isinstance(item, (tuple, list)) else item for item in gallery_value or []]


def build_demo(settings: Settings | None = None, backend: Backend | None = None) -> gr.Blocks:
    settings = settings or load_settings()
    backend = backend or create_backend(settings)

    with gr.Blocks(title="Seedream 4.5", delete_cache=(3600, 6 * 3600)) as demo:
        gr.Markdown(HEADER, elem_id="header")
        if backend.offline:
            gr.Markdown(OFFLINE_BANNER, elem_id="offline-banner")

        kept_refs = gr.State([])  # the uploads accepted so far, to restore when too many are added
        history = gr.State([])  # this browser session's generations, newest first
        selected = gr.State(None)  # index of the result clicked in the gallery

        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                prompt = gr.Textbox(
                    label="Prompt",
                    lines=3,
                    max_lines=12,
                    placeholder="Describe the image, e.g. a red fox reading a map in a snowy forest, watercolour",
                    elem_id="prompt",
                )
                prompt_info = gr.Markdown(gen.prompt_hint(""), elem_id="prompt-hint", elem_classes="hint")
                with gr.Row():
                    run = gr.Button("Generate", variant="primary", scale=3, elem_id="generate")
                    stop = gr.Button("Stop waiting", variant="stop", scale=1, elem_id="stop")

                with gr.Column(variant="panel"):
                    size_preset = gr.Dropdown(
                        SIZE_CHOICES, value=DEFAULT_SIZE, label="Size", elem_id="size-preset"
                    )
                    with gr.Row(visible=False) as custom_row:
                        width = gr.Number(label="Width (px)", value=2048, precision=0, minimum=1, elem_id="width")
                        height = gr.Number(label="Height (px)", value=2048, precision=0, minimum=1, elem_id="height")
                    size = gr.Textbox(
                        value=DEFAULT_SIZE,
                        label="Size sent to the API (2K, 4K or width x height)",
                        elem_id="size",
                    )
                    size_info = gr.Markdown(gen.size_hint(DEFAULT_SIZE), elem_id="size-hint", elem_classes="hint")

                with gr.Accordion("Edit or combine images (optional)", open=True):
                    image = gr.Gallery(
                        label=gen.references_label(0),
                        type="filepath",
                        interactive=True,
                        file_types=UPLOAD_TYPES,
                        columns=4,
                        height=200,
                        object_fit="contain",
                        elem_id="references",
                    )
                    image_urls = gr.Textbox(
                        value="",
                        label="Reference image URLs (one per line)",
                        lines=2,
                        placeholder="https://example.com/photo.jpg",
                        elem_id="reference-urls",
                    )

                with gr.Accordion("Advanced settings", open=False, elem_id="advanced"):
                    watermark = gr.Checkbox(value=True, label="Add Seedream's 'AI generated' watermark")
                    optimize_prompt_mode = gr.Radio(
                        list(OPTIMIZE_MODES),
                        value="standard",
                        label="Prompt optimisation",
                        info="standard: better results; fast: quicker",
                    )
                    sequential_image_generation = gr.Radio(
                        [("Single image", "disabled"), ("Image sequence (model decides)", "auto")],
                        value="disabled",
                        label="Sequential generation",
                        elem_id="sequential",
                    )
                    max_images = gr.Slider(
                        1,
                        gen.max_images_limit(0),
                        value=4,
                        step=1,
                        label="Max images in the sequence",
                        info="Reference images plus generated images: at most 15",
                        visible=False,
                        elem_id="max-images",
                    )
                    api_key = gr.Textbox(
                        value="",
                        label="Your Seedream API key",
                        type="password",
                        placeholder="Optional" if not backend.offline else "Paste a key to generate real images",
                        info="Used only for your requests in this browser tab; never stored or shown again.",
                        elem_id="api-key",
                    )

            with gr.Column(scale=6, min_width=320):
                results = gr.Gallery(
                    label="Results",
                    type="filepath",
                    columns=2,
                    height="auto",
                    object_fit="contain",
                    buttons=["download", "fullscreen"],
                    interactive=False,
                    elem_id="results",
                )
                status = gr.Markdown("", label="Status", elem_id="status")
                with gr.Row():
                    use_ref = gr.Button("Use selected as reference", elem_id="use-as-reference")
                    download_all = gr.DownloadButton(
                        "Download all (.zip)", value=None, visible=False, elem_id="download-all"
                    )
                with gr.Accordion("History: click an earlier generation to show it again", open=False):
                    history_gallery = gr.Gallery(
                        label="History",
                        show_label=False,
                        columns=4,
                        height=180,
                        object_fit="cover",
                        interactive=False,
                        elem_id="history",
                    )

        gr.Examples(
            examples=_examples(),
            inputs=[prompt, size, image, sequential_image_generation, max_images],
            cache_examples=False,  # caching would spend API calls at start-up
            label="Examples",
        )

        # ---- live hints ---------------------------------------------------------------------------
        fast = dict(queue=False, show_progress="hidden", api_visibility="private")
        # Handlers that tell the user something (gr.Warning / gr.Info / gr.Error) must be queued: outside the
        # queue Gradio only logs warnings and answers errors with a bare HTTP 500, so nothing would show.
        telling = dict(show_progress="hidden", api_visibility="private")
        prompt.change(gen.prompt_hint, prompt, prompt_info, trigger_mode="always_last", **fast)

        def on_preset(preset: str, w: float | None, h: float | None) -> tuple[Any, ...]:
            return gr.Row(visible=preset == "custom"), gen.size_from_inputs(preset, w, h)

        size_preset.change(on_preset, [size_preset, width, height], [custom_row, size], **fast)
        gr.on(
            [width.change, height.change],
            lambda p, w, h: gen.size_from_inputs(p, w, h) if p == "custom" else gr.skip(),
            [size_preset, width, height],
            size,
            **fast,
        )
        size.change(gen.size_hint, size, size_info, **fast)

        def on_references(
            value: Any, kept: list[str], urls: str, seq: str, current: float, tell: bool = False
        ) -> tuple[Any, ...]:
            merged, problem = gen.merge_uploads(kept, _paths(value), gen.count_urls(urls))
            if problem and tell:
                gr.Warning(problem)
            return (
                gr.Gallery(value=merged, label=gen.references_label(len(merged) + gen.count_urls(urls))),
                merged,
                _max_images_slider(len(merged) + gen.count_urls(urls), seq, current),
            )

        def on_upload(value: Any, kept: list[str], urls: str, seq: str, current: float) -> tuple[Any, ...]:
            return on_references(value, kept, urls, seq, current, tell=True)

        references_io = (
            [image, kept_refs, image_urls, sequential_image_generation, max_images],
            [image, kept_refs, max_images],
        )
        # The Gallery fires `change` twice per upload; only `upload` (once) explains a refusal.
        image.upload(on_upload, *references_io, trigger_mode="always_last", **telling)
        gr.on([image.change, image_urls.change], on_references, *references_io, trigger_mode="always_last", **fast)
        sequential_image_generation.change(
            lambda seq, refs, urls, current: _max_images_slider(len(refs) + gen.count_urls(urls), seq, current),
            [sequential_image_generation, kept_refs, image_urls, max_images],
            max_images,
            **fast,
        )

        # ---- generating ---------------------------------------------------------------------------
        async def generate(
            prompt: str,
            size: str,
            image: Any,
            image_urls: str,
            watermark: bool,
            optimize_prompt_mode: str,
            sequential_image_generation: str,
            max_images: float,
            api_key: str,
            history: list[gen.Generation] | None = None,
            progress: gr.Progress = gr.Progress(),
        ) -> tuple[Any, ...]:
            form = gen.GenerationForm(
                prompt=prompt or "",
                size=size or "",
                reference_files=_paths(image),
                reference_urls=image_urls or "",
                watermark=bool(watermark),
                optimize_prompt_mode=optimize_prompt_mode or None,
                sequential_image_generation=sequential_image_generation or "disabled",
                max_images=int(max_images) if max_images else None,
            )
            client, key = backend.route(api_key)
            progress(0.05, desc="Sending to Seedream…")
            try:
                done = await gen.generate(client, form, api_key=key, output_root=backend.output_root)
            except SeedreamError as exc:
                raise _error(exc) from None
            except Exception:  # a bug of ours: log it for us, show something useful to the user
                log.exception("generation failed")
                raise gr.Error(
                    "Something went wrong on our side; your inputs are unchanged. Please try again.",
                    print_exception=False,
                ) from None
            for warning in done.warnings:
                gr.Warning(warning)
            return _show(done) + (gen.add_to_history(history or [], done), None)

        generate_event = gr.on(
            [run.click, prompt.submit],
            generate,
            [prompt, size, image, image_urls, watermark, optimize_prompt_mode,
             sequential_image_generation, max_images, api_key, history],
            [results, download_all, status, history, selected],
            api_name="generate",
            api_description="Generate images with Seedream 4.5. Parameters follow the API's fields.",
            concurrency_limit=settings.concurrency,
            concurrency_id="generate",
            show_progress_on=[results],
            # "full" would cover the results with an opaque panel, left as a big "Error" after a failure
            # until dismissed: the earlier results must stay visible (and clickable) while waiting and after errors.
            show_progress="minimal",
            scroll_to_output=True,
        )
        # The history gallery is filled by a separate step, not by /generate: otherwise every API call would
        # download the whole history again (up to 20 generations) along with its own results.
        generate_event.success(_history_items, history, history_gallery, **fast)
        stop.click(None, cancels=[generate_event], api_visibility="private")

        # ---- results --------------------------------------------------------------------------------
        def on_select(evt: gr.SelectData) -> int:
            return evt.index

        results.select(on_select, None, selected, **fast)

        def on_use(results_value: Any, index: int | None, kept: list[str], urls: str) -> tuple[Any, ...]:
            try:
                merged, message = gen.use_as_reference(kept, _paths(results_value), index, gen.count_urls(urls))
            except SeedreamError as exc:
                raise _error(exc) from None
            gr.Info(message)
            return gr.Gallery(value=merged, label=gen.references_label(len(merged) + gen.count_urls(urls))), merged

        use_ref.click(on_use, [results, selected, kept_refs, image_urls], [image, kept_refs], **telling)

        def on_history(history: list[gen.Generation], evt: gr.SelectData) -> tuple[Any, ...]:
            return _show(history[evt.index]) + (None,)

        history_gallery.select(on_history, history, [results, download_all, status, selected], **fast)

    demo.backend = backend  # type: ignore[attr-defined]  # for tests and app.py to close it
    return demo


def _max_images_slider(reference_count: int, sequential: str, current: float | None) -> gr.Slider:
    limit, value = gen.max_images_choice(reference_count, current)
    if limit > 1:
        # Send a value only when it must come down: a late reference event must not undo what the user just set.
        kept = {} if value == current else {"value": value}
        return gr.Slider(minimum=1, maximum=limit, interactive=True, visible=sequential == "auto", **kept)
    # With 14 references a sequence holds one image; Gradio refuses a slider whose minimum equals its maximum.
    return gr.Slider(minimum=0, maximum=1, value=1, interactive=False, visible=sequential == "auto")


def _show(done: gen.Generation) -> tuple[Any, ...]:
    items = [(str(path), path.name) for path in done.files]
    return items, gr.DownloadButton(value=str(done.zip_path), visible=True), done.status


def _history_items(history: list[gen.Generation]) -> list[tuple[str, str]]:
    return [(str(g.files[0]), g.caption) for g in history if g.files]


def _examples() -> list[list[Any]]:
    refs = [str(ASSETS / "examples" / name) for name in ("teapot-sketch.png", "palette.png")]
    return [
        ["A red fox reading a paper map in a snowy birch forest, soft watercolour, morning light", "2560x1440",
         None, "disabled", 4],
        ["Turn the sketch into a glossy product photo of a ceramic teapot on a marble table, "
         "glazed in the colours of the palette", "2048x2048", refs, "disabled", 4],
        ["A four-panel storyboard of a paper boat sailing from a puddle to the open sea, consistent style",
         "2K", None, "auto", 4],
    ]


def launch_options(settings: Settings) -> dict[str, Any]:
    """What `launch()` needs besides host and port; shared by app.py and the tests."""
    return {
        "css_paths": [ASSETS / "style.css"],
        "theme": gr.themes.Soft(primary_hue="indigo"),
        "max_file_size": settings.max_upload_bytes,
        "footer_links": ["api", "gradio"],
        "show_error": True,
        # Gradio's run history would keep every input in the browser's localStorage and show it again at
        # /gradio_api/runs, the key typed in the API key box included.
        "run_history": False,
        # Gradio's /monitoring is public and prints its dashboard key to the log for anyone who asks.
        "enable_monitoring": False,
    }
