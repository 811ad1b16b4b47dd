"""History that survives a reload and a restart (issue 11), and recipes dropped onto the page.

    build_history(page)                              # page.py: page.saved_history beside page.history
    build_forget(page)                               # page.py, in the History accordion: "Forget my history"
    wire_history(page, store, backend, demo, shown)  # ui.py; store None (sharing off): the history is per tab
    head()                                           # launch(head=...): the recipe drop handler

`page.history` stays what the page uses (gen.Generation, newest first). Beside it, `page.saved_history` is a
`gr.BrowserState`: the browser's localStorage holds one entry per generation, `{"id", "made", "caption"}`, where
`id` names a private history entry in the share store (shares/history.py; 128 random bits) and `made` matches
the entry to its Generation (`created`). Nothing secret goes in: Gradio sends the BrowserState's `secret` to
every browser in the page's config (the browser decrypts with it), so its encryption only hides the value
from a casual look, and anything stored there must be fine for the visitor to read. Never the key, never an
address; the entries' files stay on the server.

The secret and storage key are stable (the secret kept in SEEDREAM_DATA_DIR): with Gradio's defaults both are
random per process, and after a restart the browser would look under another key (or fail to decrypt, which
Gradio treats as empty), so the history would be gone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from seedream_ui import generation as gen
from seedream_ui.backend import Backend
from seedream_ui.history_entries import (
    ForgetMarks,
    entries,
    folders_in_use,
    forgot_message,
    forgotten_count,
    made,
    parse_made,
    restored_folder,
    served_folders,
)
from seedream_ui.shares import History, HistoryLimits, Share, ShareError, ShareStore, UploadReference, editor_form
from seedream_ui.shares.files import link_or_copy
from seedream_ui.shares.recipe import Recipe
from seedream_ui.ui_share import filled_form, form_controls

if TYPE_CHECKING:
    from collections.abc import Callable

    from seedream_ui.page import Page

    # What a history click shows of a generation (results, status, zip button...), keyed by component.
    Shows = Callable[[Page, gen.Generation], dict[Any, Any]]

log = logging.getLogger("seedream_ui.ui")

STORAGE_KEY = "seedream-ui-history"
SECRET_FILE = "browser-state.secret"
ASSETS = Path(__file__).resolve().parent.parent / "assets"
# Queued (the store's disk work runs in a thread) and not part of the public API.
QUIET: dict[str, Any] = {"show_progress": "hidden", "api_visibility": "private"}
FORGET_HINT = "Removes these generations from this browser and the server. The results shown above stay."


def build_history(page: Page) -> None:
    page.saved_history = gr.BrowserState([], storage_key=STORAGE_KEY)


def build_forget(page: Page) -> None:
    """Says what it does before the click, and what it did after: there is no undo."""
    # The note under the button, not beside it: at phone width a row would squeeze it into a narrow column.
    with gr.Row(elem_id="forget-row"):
        page.forget = gr.Button("Forget my history", variant="secondary", size="sm", scale=0, min_width=170,
                                elem_id="forget-history")  # fmt: skip
    page.forget_note = gr.Markdown(FORGET_HINT, elem_id="forget-note", elem_classes="hint")


def head() -> str:
    """The <head> addition for launch(): a recipe file dropped anywhere on the page loads into the form."""
    return f"<script>{(ASSETS / 'recipe_drop.js').read_text(encoding='utf-8')}</script>"


def browser_secret(data_dir: Path) -> str:
    """The BrowserState's secret, created once (readable by this user only) and the same after a restart.

    Written to a temporary file and linked into place, so two processes starting at once agree on one secret.
    """
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        staging = data_dir / f".{SECRET_FILE}.{secrets.token_hex(4)}"
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(32))
        try:
            os.link(staging, path)
        except FileExistsError:
            pass  # another process was first: its secret is the one
        finally:
            staging.unlink()
    return path.read_text(encoding="ascii").strip()


def wire_history(page: Page, store: ShareStore | None, backend: Backend, demo: gr.Blocks, shown: Shows) -> None:
    """`shown` is what clicking an entry shows (ui.py's, for its history click): a reload shows the newest with it."""
    form_outputs = form_controls(page)

    async def on_history_entry(history: list[gen.Generation], evt: gr.SelectData) -> dict[Any, Any]:
        """Clicking an entry restores its recipe too (ui.py shows its results)."""
        index = evt.index if isinstance(evt.index, int) and 0 <= evt.index < len(history) else None
        if index is None or history[index].recipe is None:
            return {component: gr.skip() for component in form_outputs}
        return await filled_form(page, _form_of(history[index]), backend)

    page.history_gallery.select(on_history_entry, page.history, form_outputs, **QUIET)
    history = History(store, HistoryLimits.from_settings(backend.settings)) if store and store.enabled else None
    forgets = ForgetMarks()
    _wire_forget(page, history, backend.output_root, forgets)
    if store is None or history is None:
        return  # sharing off: no store to keep entries in, so the history lasts as long as the tab
    page.saved_history.secret = browser_secret(store.root.parent)  # read when the page's config is built

    async def on_new(generations: list[gen.Generation], saved: Any, request: gr.Request) -> Any:
        """Keep the generations the browser does not have yet (the newest), in a worker thread."""
        known = {entry["made"]: entry for entry in entries(saved)}
        fresh = [g for g in generations if made(g) not in known and g.recipe is not None]
        if not fresh:
            return gr.skip()
        visitor = await backend.gate.visitor(request) if backend.gate is not None else ""
        started, added = forgets.now(), []
        for generation in fresh:
            assert generation.recipe is not None
            try:
                entry_id = await history.akeep(generation.files, generation.recipe, generation.uploads, visitor)
            except (ShareError, OSError) as exc:  # not kept: it stays in this tab's history only
                log.info("a history entry was not kept: %s", type(exc).__name__)
                continue
            known[made(generation)] = {"id": entry_id, "made": made(generation), "caption": generation.caption}
            added.append(entry_id)
        if forgets.since(request.session_hash, started):  # "Forget my history" was clicked meanwhile
            await history.aforget(added)
            return gr.skip()
        # In the page's order; older entries this tab never restored stay after them.
        ordered = [known.pop(made(g)) for g in generations if made(g) in known]
        return (ordered + list(known.values()))[: gen.HISTORY_LIMIT]

    # After each generation the page shows it in the history gallery (ui.py); /generate itself (and so every
    # API call) does none of this work.
    page.history_gallery.change(on_new, [page.history, page.saved_history], page.saved_history, **QUIET)

    # Clicking an entry shows these; the restore shows the newest entry with them. Never the form: a visitor
    # may have started typing before the restore answered.
    results = [page.results, page.download_all, page.status, page.selected, page.shown]
    restore_outputs = [page.history, page.history_gallery, page.saved_history, *results]

    async def on_restore(generations: list[gen.Generation], saved: Any, on_screen: Any) -> dict[Any, Any]:
        wanted = entries(saved)
        if not wanted or generations:
            return {component: gr.skip() for component in restore_outputs}
        kept = await history.aentries([entry["id"] for entry in wanted])
        restored, still = [], []
        for entry in wanted:
            share = kept.get(entry["id"])
            when = parse_made(entry["made"])
            if share is None or when is None:
                continue  # expired, evicted or forged: forgotten
            try:
                restored.append(await asyncio.to_thread(_restored, share, when, backend.output_root))
            except OSError:
                continue
            still.append(entry)
        newest = next((g for g in restored if g.files), None)
        if newest is None or isinstance(on_screen, gen.Generation):  # nothing to show, or results already shown
            again = {component: gr.skip() for component in results}
        else:
            again = shown(page, newest) | {page.selected: None}  # as ui.py's history click
        return again | {
            page.history: restored,
            page.history_gallery: [(str(g.files[0]), g.caption) for g in restored if g.files],
            page.saved_history: still,
        }

    demo.load(on_restore, [page.history, page.saved_history, page.shown], restore_outputs, **QUIET)


def _wire_forget(page: Page, history: History | None, output_root: Path, forgets: ForgetMarks) -> None:
    outputs = [page.history, page.history_gallery, page.saved_history, page.forget_note]

    async def on_forget(generations: Any, saved: Any, shown: Any, references: Any, request: gr.Request
                        ) -> dict[Any, Any]:  # fmt: skip
        """Empty the history here and in the browser, and delete its files from the server.

        The ids come from the browser: the store deletes only the private entries they name (as restoring reads
        only those), never a share. The results on screen and the form's references keep their files.
        """
        forgets.mark(request.session_hash)
        tab = [g for g in generations if isinstance(g, gen.Generation)] if isinstance(generations, list) else []
        ids = [entry["id"] for entry in entries(saved)]
        count = forgotten_count(tab, saved)
        kept_by = history if ids else None  # sharing on and the browser names some entries
        # Read before they go: their files lead to the cache's copies.
        kept = await kept_by.aentries(ids) if kept_by is not None else {}
        folders = await asyncio.to_thread(served_folders, output_root, tab, kept)
        if kept_by is not None:
            await kept_by.aforget(ids)
        keep = folders_in_use(shown, references)
        await asyncio.to_thread(_remove, [folder for folder in folders if folder.resolve() not in keep])
        log.info("a visitor forgot %d generation(s)", count)
        return {page.history: [], page.history_gallery: [], page.saved_history: [],
                page.forget_note: forgot_message(count, history is not None)}  # fmt: skip

    page.forget.click(on_forget, [page.history, page.saved_history, page.shown, page.kept_refs], outputs, **QUIET)


def _remove(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _restored(share: Share, when: datetime, output_root: Path) -> gen.Generation:
    """The page's Generation for a kept entry, its files linked into Gradio's cache (only that is served).

    The folder's name comes from a hash of the entry id, so a reload reuses it (no copy where a link is not
    possible) and the served URLs never carry the id itself.
    """
    folder = restored_folder(output_root, share.id)
    names = [image.file for image in share.images] + [r.file for r in share.recipe.uploads if r.file]
    if not all((folder / name).is_file() for name in names):
        staging = output_root / f".history-{secrets.token_hex(8)}"
        staging.mkdir(parents=True)
        for name in names:
            link_or_copy(share.folder / name, staging / name)
        shutil.rmtree(folder, ignore_errors=True)
        try:
            staging.rename(folder)
        except OSError:  # another tab of this visitor was quicker: its files are the same
            shutil.rmtree(staging, ignore_errors=True)
    for path in (folder, *(folder / name for name in names)):
        os.utime(path)  # the clean-ups of old results (ours, Gradio's) go by age: these are in use again
    recipe = _unnamed(share.recipe)
    sizes = sorted({f"{image.width}x{image.height}" for image in share.images})
    count = len(share.images)
    return gen.Generation(
        created=when,
        prompt=recipe.prompt,
        size=recipe.size,
        files=tuple(folder / image.file for image in share.images),
        status=f"✓ {count} image{'s' if count != 1 else ''} · {', '.join(sizes)} · from your history",
        record=recipe.request_record(),
        recipe=recipe,
        uploads=tuple(str(folder / r.file) if r.file else "" for r in share.recipe.uploads),
    )


def _unnamed(recipe: Recipe) -> Recipe:
    """The recipe as a fresh generation has it: uploads named, without the store's file names."""
    return replace(recipe, references=tuple(
        UploadReference(r.name) if isinstance(r, UploadReference) else r for r in recipe.references))  # fmt: skip


def _form_of(generation: gen.Generation) -> Any:
    """The form for a generation: its uploads come back from the copies it still has."""
    assert generation.recipe is not None
    files, missing = [], []
    for index, reference in enumerate(generation.recipe.uploads):
        path = generation.uploads[index] if index < len(generation.uploads) else None
        if path and Path(path).is_file():
            files.append(path)
        else:
            missing.append(reference.name)
    return replace(editor_form(generation.recipe), reference_files=tuple(files), missing_uploads=tuple(missing))
