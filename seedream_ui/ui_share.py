"""Sharing on the page (issue 11): the Share button and its link, "Open in the editor" (`?recipe=<id>`), and
recipes out ("Copy recipe") and in ("Load recipe"). The store, recipe format and shared pages are in shares/.

    controls = build_share()                               # in page.py, under the results
    wire_share(page, controls, store, backend, demo)   # in ui.py; store None: sharing is off
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import gradio as gr

from seedream_ui import generation as gen
from seedream_ui.backend import Backend
from seedream_ui.errors import ValidationError
from seedream_ui.history_entries import entry_for
from seedream_ui.shares import (
    EditorForm,
    History,
    ReferenceFile,
    ShareError,
    ShareStore,
    editor_form,
    form_for_link,
    load_images,
    parse_recipe,
    root_url,
    share_notice,
    share_url,
)
from seedream_ui.shares.recipe_checks import MAX_RECIPE_BYTES
from seedream_ui.sizes import presets

if TYPE_CHECKING:
    from seedream_ui.page import Page

log = logging.getLogger("seedream_ui.ui")

NOTHING_SHOWN = "Generate an image first (or click one in the history); then Share publishes the results shown."
LINK_GONE = "That shared recipe was not found or is no longer shared; the form is unchanged."
STORE_FAILED = "Sharing is unavailable right now; nothing was published. Please try again later."
PRESET_SIZES = frozenset(p.size for p in presets())
# Queued (so gr.Warning / gr.Error reach the visitor) and not part of the public API.
TELLING: dict[str, Any] = {"show_progress": "hidden", "api_visibility": "private"}


@dataclass
class ShareControls:
    share: gr.Button
    copy_recipe: gr.Button
    load_recipe: gr.UploadButton
    link: gr.Textbox
    notice: gr.Markdown
    recipe: gr.Textbox


def build_share() -> ShareControls:
    """The sharing row under the results; its link and recipe boxes appear once used."""
    with gr.Row(elem_id="share-row"):
        share = gr.Button("Share", elem_id="share")
        copy_recipe = gr.Button("Copy recipe", elem_id="copy-recipe")
        load_recipe = gr.UploadButton(
            "Load recipe (.json)", file_types=[".json"], type="filepath", elem_id="load-recipe"
        )
    link = gr.Textbox(label="Share link", buttons=["copy"], interactive=False, visible=False, elem_id="share-link")
    notice = gr.Markdown("", elem_id="share-notice")
    recipe = gr.Textbox(
        label="Recipe (JSON): copy it, or save it and load it back later", buttons=["copy"], interactive=False,
        visible=False, lines=6, max_lines=16, elem_id="recipe-json",
    )  # fmt: skip
    return ShareControls(share, copy_recipe, load_recipe, link, notice, recipe)


async def _visitor(backend: Backend, request: gr.Request) -> str:
    """The visitor's salted id, the same one the quotas count (never an address): a share is kept under it."""
    return await backend.gate.visitor(request) if backend.gate is not None else ""


def wire_share(
    page: Page, controls: ShareControls, store: ShareStore | None, backend: Backend,
    demo: gr.Blocks,
) -> None:  # fmt: skip
    form_outputs = form_controls(page)
    _wire_recipes(page, controls, backend, form_outputs)
    if store is None or not store.enabled:
        controls.share.visible = False  # read when the page's config is built, at launch
        return
    history = History(store)

    async def on_share(shown: Any, saved: Any, request: gr.Request) -> dict[Any, Any]:
        if not isinstance(shown, gen.Generation) or not shown.files or shown.recipe is None:
            raise gr.Error(NOTHING_SHOWN, title="Nothing to share", print_exception=False)
        try:
            visitor = await _visitor(backend, request)
            # A generation kept in the history is published from its entry's files (linked, not copied again).
            entry = entry_for(saved, shown)
            published = await history.apublish(entry, visitor) if entry else None
            if published is None:
                images = await asyncio.to_thread(load_images, shown.files)
                references = await asyncio.to_thread(_reference_files, shown)
                published = await store.apublish(images, shown.recipe, references, visitor)
        except ShareError as exc:
            raise gr.Error(str(exc), title="Not shared", print_exception=False) from None
        except OSError:  # the results were cleaned up meanwhile (they are kept 6 hours)
            raise gr.Error("These results are no longer on the server; generate them again to share them.",
                           title="Not shared", print_exception=False) from None
        # gr.Request wraps the Starlette request of the queue call, whose headers and scope give the address.
        root = root_url(cast(Any, getattr(request, "request", None) or request), demo.root_path or None)
        log.info("shared a generation of %d image(s)", len(published.share.images))
        return {
            controls.link: gr.Textbox(value=share_url(root, published.id), visible=True),
            controls.notice: share_notice(root, published),
        }

    controls.share.click(on_share, [page.shown, page.saved_history], [controls.link, controls.notice], **TELLING)

    async def on_load(request: gr.Request) -> dict[Any, Any]:
        unchanged = {component: gr.skip() for component in form_outputs}
        wanted = request.query_params.get("recipe") if request is not None else None
        if not wanted:
            return unchanged
        form = await form_for_link(store, wanted)
        if form is None:  # forged, expired or unshared: one message for all
            gr.Warning(LINK_GONE)
            return unchanged
        return await filled_form(page, form, backend)

    demo.load(on_load, None, form_outputs, **TELLING)


def _wire_recipes(page: Page, controls: ShareControls, backend: Backend, form_outputs: list[Any]) -> None:
    def on_copy(shown: Any) -> dict[Any, Any]:
        if not isinstance(shown, gen.Generation) or shown.recipe is None:
            raise gr.Error(NOTHING_SHOWN.replace("Share publishes", "Copy recipe gives"), print_exception=False)
        return {controls.recipe: gr.Textbox(value=shown.recipe.to_json(), visible=True)}

    controls.copy_recipe.click(on_copy, page.shown, controls.recipe, **TELLING).success(
        None, js=_COPY_RECIPE, api_visibility="private"
    )

    async def on_recipe_file(path: Any) -> dict[Any, Any]:
        try:
            data = await asyncio.to_thread(_read_small, path)
            form = editor_form(parse_recipe(data))
        except ValidationError as exc:
            raise gr.Error(exc.message, title="Not a recipe", print_exception=False) from None
        return await filled_form(page, form, backend)

    controls.load_recipe.upload(on_recipe_file, controls.load_recipe, form_outputs, **TELLING)


# Best effort: the clipboard needs a secure context (https or localhost); the box's own copy button always works.
_COPY_RECIPE = """async () => {
    await new Promise(requestAnimationFrame);
    const text = document.querySelector('#recipe-json textarea')?.value;
    if (text && navigator.clipboard) { try { await navigator.clipboard.writeText(text); } catch (e) {} }
}"""


def form_controls(page: Page) -> list[Any]:
    return [page.prompt, page.size_preset, page.custom_row, page.width, page.height, page.size, page.image,
            page.kept_refs, page.image_urls, page.watermark, page.optimize_prompt_mode,
            page.sequential_image_generation, page.max_images]  # fmt: skip


async def filled_form(page: Page, form: EditorForm, backend: Backend) -> dict[Any, Any]:
    """Every control set to the recipe; stored reference copies are copied into Gradio's cache for the form."""
    files = await asyncio.to_thread(_copies, form.reference_files, backend.output_root)
    notice = form.notice()
    if notice:
        gr.Warning(notice)
    count = len(files) + gen.count_urls(form.reference_urls)
    custom = form.size not in PRESET_SIZES
    dims = gen.custom_dimensions(form.size) if custom else None
    limit, value = gen.max_images_choice(count, form.max_images or 4)
    auto = form.sequential_image_generation == "auto"
    slider = (gr.Slider(minimum=1, maximum=limit, value=value, interactive=True, visible=auto) if limit > 1 else
              gr.Slider(minimum=0, maximum=1, value=1, interactive=False, visible=auto))  # fmt: skip
    return {
        page.prompt: form.prompt,
        page.size_preset: "custom" if custom else form.size,
        page.custom_row: gr.Row(visible=custom),
        page.width: dims[0] if dims else gr.skip(),
        page.height: dims[1] if dims else gr.skip(),
        page.size: form.size,
        page.image: gr.Gallery(value=files or None, label=gen.references_label(count)),
        page.kept_refs: files,
        page.image_urls: form.reference_urls,
        page.watermark: form.watermark,
        page.optimize_prompt_mode: form.optimize_prompt_mode,
        page.sequential_image_generation: form.sequential_image_generation,
        page.max_images: slider,
    }


def _copies(paths: tuple[str, ...], output_root: Path) -> list[str]:
    """The share's stored references, copied for the form: the share may be unshared while the form holds them,
    and only Gradio's cache is served to the page."""
    if not paths:
        return []
    folder = output_root / f"recipe-{secrets.token_hex(8)}"
    folder.mkdir(parents=True, exist_ok=True)
    return [str(shutil.copy(path, folder / Path(path).name)) for path in paths]


def _reference_files(shown: gen.Generation) -> list[ReferenceFile]:
    """The uploads as this generation sent them, in order; stops at the first one the cache already removed."""
    assert shown.recipe is not None
    files = []
    for reference, path in zip(shown.recipe.uploads, shown.uploads, strict=False):
        try:
            files.append(ReferenceFile(reference.name, Path(path).read_bytes()))
        except OSError:
            break
    return files


def _read_small(path: Any) -> bytes:
    if not isinstance(path, str):
        raise ValidationError("Choose a recipe file (.json).", field="recipe")
    with open(path, "rb") as file:
        data = file.read(MAX_RECIPE_BYTES + 1)
    return data
