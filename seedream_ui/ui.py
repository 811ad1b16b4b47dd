"""The page's wiring: which handler answers which event, and errors mapped to messages. The layout is in
page.py, the logic in generation.py and below."""

from __future__ import annotations

import logging
import time
from typing import Any

import gradio as gr

from seedream_ui import generation as gen
from seedream_ui import (
    gradio_costs,
    ui_tray,  # the reference tray (issue 12)
)
from seedream_ui.backend import PURGE_INTERVAL_S, Backend, create_backend
from seedream_ui.config import Settings, load_settings
from seedream_ui.errors import (
    APIError,
    AuthenticationError,
    ContentPolicyError,
    RateLimitError,
    SeedreamError,
    ValidationError,
)
from seedream_ui.outputs import RESULT_MAX_AGE_S
from seedream_ui.page import ASSETS, GALLERY_REFUSAL, Page, build_layout
from seedream_ui.quotas import KeyPausedError, QuotaError
from seedream_ui.shares import ShareStore
from seedream_ui.ui_compare import wire_compare  # Compare (issue 12)
from seedream_ui.ui_history import head as history_head  # history across reloads, recipe drops (issue 11)
from seedream_ui.ui_history import wire_history
from seedream_ui.ui_iterate import head as iterate_head  # iterating (issue 12)
from seedream_ui.ui_iterate import wire as wire_iterate
from seedream_ui.ui_iterate import wire_first as wire_iterate_first
from seedream_ui.ui_limits import counted, visit_for, wire_limits  # limits and cost (issue 10)
from seedream_ui.ui_share import wire_share
from seedream_ui.waits import result_captions, wait_key

log = logging.getLogger("seedream_ui.ui")

BUG_MESSAGE = "Something went wrong on our side; your inputs are unchanged. Please try again."

_TITLES: list[tuple[type[SeedreamError], str]] = [
    (ValidationError, "Check your input"),
    (AuthenticationError, "API key problem"),
    (ContentPolicyError, "Refused by Seedream"),
    (RateLimitError, "Rate limited"),
    (APIError, "Seedream API error"),
    (KeyPausedError, "API key box paused"),
    (QuotaError, "Usage limit"),
    (SeedreamError, "Error"),
]


def _error(exc: SeedreamError) -> gr.Error:
    """The visitor's message for an expected refusal, and one log line for us (no traceback, no input)."""
    title = next(t for cls, t in _TITLES if isinstance(exc, cls))
    log.info("Refused: %s (%s)", type(exc).__name__, getattr(exc, "field", None) or "-")
    return gr.Error(str(exc), title=title, print_exception=False)

def _paths(gallery_value: Any) -> list[str]:
    """File paths out of a preprocessed Gallery value ([(path, caption)] or None)."""
    return [item[0] if isinstance(item, (tuple, list)) else item for item in gallery_value or []]


def _upload_paths(value: object) -> list[str]:
    """Upload paths out of a raw Gallery value as an API call sends it: [{"image": {"path": ...}}] or None."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(GALLERY_REFUSAL, field="image")
    paths = []
    for index, item in enumerate(value, start=1):
        image = item.get("image") if isinstance(item, dict) else None
        path = image.get("path") if isinstance(image, dict) else None
        if not isinstance(path, str) or not path:
            raise ValidationError(f"Reference image {index} is not an uploaded image file.", field="image")
        paths.append(path)
    return paths


def _index(value: object, length: int) -> int | None:
    """A clicked item's index, if it is one (select events carry what the browser sent)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < length else None

def build_demo(
    settings: Settings | None = None, backend: Backend | None = None, shares: ShareStore | None = None
) -> gr.Blocks:
    """The page; with `shares` (serve() opens it in SEEDREAM_DATA_DIR) the Share button and ?recipe= links work."""
    settings = settings or load_settings()
    backend = backend or create_backend(settings)
    gradio_costs.install()  # issue 9: what Gradio would redo for every session
    page = Page()
    # Gradio's own cache (uploads, and files it copies) ages out with our results.
    with gr.Blocks(title="Seedream 4.5", delete_cache=(int(PURGE_INTERVAL_S) * 60, RESULT_MAX_AGE_S)) as demo:
        build_layout(page, backend)
        wire_iterate_first(page, backend)  # before the page's own listeners on the same triggers (see there)
        _wire_hints(page)
        _wire_references(page)
        ui_tray.wire(page)
        _wire_generate(page, backend, settings)
        _wire_results(page)
        wire_compare(page, backend)  # after the results' own listeners
        _wire_download(page)
        wire_share(page, page.sharing, shares, backend, demo)
        wire_history(page, shares, backend, demo, _shown)  # a reload shows the newest entry as its click does
    return demo


# ---- wiring ---------------------------------------------------------------------------------------------

# Live hints answer outside the queue, privately (not part of the public API).
FAST: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
# Handlers that tell the user something (gr.Warning / gr.Info / gr.Error) must be queued: outside the queue
# Gradio only logs warnings and answers errors with a bare HTTP 500, so nothing would show.
TELLING: dict[str, Any] = {"show_progress": "hidden", "api_visibility": "private"}


def _wire_hints(page: Page) -> None:
    page.prompt.change(gen.prompt_hint, page.prompt, page.prompt_info, trigger_mode="always_last", **FAST)

    def on_preset(preset: str, w: float | None, h: float | None) -> dict[Any, Any]:
        return {page.custom_row: gr.Row(visible=preset == "custom"), page.size: gen.size_from_inputs(preset, w, h)}

    page.size_preset.change(
        on_preset, [page.size_preset, page.width, page.height], [page.custom_row, page.size], **FAST
    )
    gr.on(
        [page.width.change, page.height.change],
        lambda p, w, h: gen.size_from_inputs(p, w, h) if p == "custom" else gr.skip(),
        [page.size_preset, page.width, page.height],
        page.size,
        **FAST,
    )
    page.size.change(gen.size_hint, page.size, page.size_info, **FAST)


def _wire_references(page: Page) -> None:
    def on_references(
        value: Any, kept: list[str], urls: str, seq: str, current: float, tell: bool = False
    ) -> dict[Any, Any]:
        url_count = gen.count_urls(urls)
        merged, problem = gen.merge_uploads(kept, _paths(value), url_count)
        if problem and tell:
            gr.Warning(problem)
        label = gen.references_label(len(merged) + url_count)
        return {
            # Only a refusal writes the uploads back: echoing accepted ones would undo a later upload or move.
            page.image: gr.Gallery(value=merged, label=label) if problem else gr.Gallery(label=label),
            page.kept_refs: merged,
            page.max_images: _max_images_slider(len(merged) + url_count, seq, current),
        }

    def on_upload(value: Any, kept: list[str], urls: str, seq: str, current: float) -> dict[Any, Any]:
        return on_references(value, kept, urls, seq, current, tell=True)

    inputs = [page.image, page.kept_refs, page.image_urls, page.sequential_image_generation, page.max_images]
    outputs = [page.image, page.kept_refs, page.max_images]
    # The Gallery fires `change` twice per upload; only `upload` (once) explains a refusal.
    page.image.upload(on_upload, inputs, outputs, trigger_mode="always_last", **TELLING)
    gr.on([page.image.change, page.image_urls.change], on_references, inputs, outputs, trigger_mode="always_last",
          **FAST)  # fmt: skip
    page.sequential_image_generation.change(
        lambda seq, refs, urls, current: _max_images_slider(len(refs) + gen.count_urls(urls), seq, current),
        [page.sequential_image_generation, page.kept_refs, page.image_urls, page.max_images],
        page.max_images,
        **FAST,
    )


def _wire_generate(page: Page, backend: Backend, settings: Settings) -> None:
    async def generate(
        prompt: Any,
        size: Any,
        image: Any,
        image_urls: Any,
        watermark: Any,
        optimize_prompt_mode: Any,
        sequential_image_generation: Any,
        max_images: Any,
        api_key: Any,
        history: list[gen.Generation] | None = None,
        session_images: Any = 0,
        request: gr.Request | None = None,  # limits (issue 10): who the visitor is ...
        profile: gr.OAuthProfile | None = None,  # ... by username when signed in on a Space
        progress: gr.Progress = gr.Progress(),
    ) -> dict[Any, Any]:
        # The values arrive as the caller sent them (preprocess=False): Gradio's own preprocessing would turn
        # any JSON value into text and round 2.5 images to 2. Their types are checked, never coerced, below.
        try:
            client, key = backend.route(api_key)
            form = gen.GenerationForm(
                prompt=prompt,
                size=size,
                reference_files=_upload_paths(image),
                reference_urls=image_urls,
                watermark=watermark,
                optimize_prompt_mode=optimize_prompt_mode,
                sequential_image_generation=sequential_image_generation,
                max_images=max_images,
            )
            progress(0.05, desc="Sending to Seedream…")
            visit = await visit_for(backend.gate, request, api_key=api_key, profile=profile)
            started = time.monotonic()
            done = await gen.generate(client, form, api_key=key, output_root=backend.output_root, reserve=visit.reserve)
            kind = wait_key(size, sequential_image_generation, max_images)
            backend.wait_times.record(kind, time.monotonic() - started)  # the next wait's estimate
            done, spent = counted(page, visit, done, session_images)
        except SeedreamError as exc:
            raise _error(exc) from None
        except Exception:  # a bug of ours: log it for us, show something useful to the user
            log.exception("generation failed")
            raise gr.Error(BUG_MESSAGE, print_exception=False) from None
        await backend.purge_old_results()
        for warning in done.warnings:
            gr.Warning(warning)
        # The zip button is not touched here (None): the page's own step below shows it. A component returned
        # from /generate makes Gradio rebuild it and its session config on every call (issue 9).
        shown = _results(page, done) | {page.download_all: None}
        return shown | {page.history: gen.add_to_history(history or [], done), page.selected: None} | spent

    event = gr.on(
        [page.run.click],  # and Ctrl/Cmd+Enter in the prompt (assets/iterate.js clicks Generate)
        generate,
        [page.prompt, page.size, page.image, page.image_urls, page.watermark, page.optimize_prompt_mode,
         page.sequential_image_generation, page.max_images, page.api_key, page.history, page.session_images],
        [page.results, page.download_all, page.status, page.history, page.selected, page.shown, page.session_images],
        api_name="generate",
        api_description="Generate images with Seedream 4.5. Parameters follow the API's fields.",
        preprocess=False,
        concurrency_limit=settings.concurrency,
        concurrency_id="generate",
        show_progress_on=[page.results],
        # "full" would cover the results with an opaque panel, left as a big "Error" after a failure
        # until dismissed: the earlier results must stay visible (and clickable) while waiting and after errors.
        show_progress="minimal",
        scroll_to_output=True,
    )  # fmt: skip
    # The history gallery is filled by a separate step, not by /generate: otherwise every API call would
    # download the whole history again (up to 20 generations) along with its own results. The same page-only
    # step shows the zip button.
    def after(history: list[gen.Generation]) -> dict[Any, Any]:
        return {page.history_gallery: _history_items(history), page.download_all: gr.DownloadButton(visible=True)}

    event.success(after, page.history, [page.history_gallery, page.download_all], **FAST)
    page.stop.click(None, cancels=[event], api_visibility="private")
    wire_iterate(page, event)  # the wait line, Stop's status, the status after a failure
    wire_limits(page, backend.gate, event)


def _wire_results(page: Page) -> None:
    def on_select(evt: gr.SelectData) -> dict[Any, Any]:
        return {page.selected: evt.index if isinstance(evt.index, int) else None}

    page.results.select(on_select, None, page.selected, **FAST)

    def on_use(results_value: Any, index: Any, kept: list[str], urls: str) -> dict[Any, Any]:
        url_count = gen.count_urls(urls)
        try:
            merged, message = gen.use_as_reference(kept, _paths(results_value), index, url_count)
        except SeedreamError as exc:
            raise _error(exc) from None
        gr.Info(message)
        return {
            page.image: gr.Gallery(value=merged, label=gen.references_label(len(merged) + url_count)),
            page.kept_refs: merged,
        }

    page.use_ref.click(
        on_use, [page.results, page.selected, page.kept_refs, page.image_urls], [page.image, page.kept_refs],
        **TELLING,
    )  # fmt: skip

    def on_history(history: list[gen.Generation], evt: gr.SelectData) -> dict[Any, Any]:
        index = _index(evt.index, len(history))
        if index is None:  # a stale click (the history changed meanwhile) or a forged event: nothing to show
            return gr.skip()  # not {}: Gradio 6.31 takes an empty dict for one value, not "no update"
        return _shown(page, history[index]) | {page.selected: None}

    page.history_gallery.select(
        on_history, page.history, [page.results, page.download_all, page.status, page.selected, page.shown], **FAST
    )


# Clicks the hidden download button once it holds the zip (its click downloads its value).
_HAND_OVER_ZIP = """async () => {
    await new Promise(requestAnimationFrame);  // let the page apply the new value first
    const el = document.querySelector('#download-all-file');
    (el?.tagName === 'BUTTON' ? el : el?.querySelector('button'))?.click();
}"""


def _wire_download(page: Page) -> None:
    async def on_download(shown: Any) -> dict[Any, Any]:
        try:
            path = await gen.download_all(shown)
        except SeedreamError as exc:
            raise _error(exc) from None
        return {page.zip_file: gr.DownloadButton(value=str(path))}

    # The zip is built on the first click only: zipping every generation cost more CPU than saving its images.
    page.download_all.click(on_download, page.shown, page.zip_file, **TELLING).success(
        None, js=_HAND_OVER_ZIP, api_visibility="private"
    )


def _max_images_slider(reference_count: int, sequential: str, current: float | None) -> gr.Slider:
    limit, value = gen.max_images_choice(reference_count, current)
    if limit > 1:
        # Send a value only when it must come down: a late reference event must not undo what the user just set.
        if value == current:
            return gr.Slider(minimum=1, maximum=limit, interactive=True, visible=sequential == "auto")
        return gr.Slider(minimum=1, maximum=limit, value=value, interactive=True, visible=sequential == "auto")
    # With 14 references a sequence holds one image; Gradio refuses a slider whose minimum equals its maximum.
    return gr.Slider(minimum=0, maximum=1, value=1, interactive=False, visible=sequential == "auto")


def _results(page: Page, done: gen.Generation) -> dict[Any, Any]:
    return {
        page.results: result_captions(done.files),  # "1 of 3 · name" for a sequence
        page.status: done.status,
        page.shown: done,
    }


def _shown(page: Page, done: gen.Generation) -> dict[Any, Any]:
    """A generation shown again (a history click): its results, and the zip button."""
    return _results(page, done) | {page.download_all: gr.DownloadButton(visible=True)}


def _history_items(history: list[gen.Generation]) -> list[tuple[str, str]]:
    return [(str(g.files[0]), g.caption) for g in history if g.files]

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
        # Ctrl/Cmd+Enter, Esc, the elapsed time; paste, drop, the tray (issue 12); recipe drops (issue 11)
        "head": iterate_head() + ui_tray.head() + history_head(),
    }
