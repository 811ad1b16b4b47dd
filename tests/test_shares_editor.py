"""From a share back to the form ("Open in the editor", ?recipe=<id>) and the notice the Share button shows."""

from __future__ import annotations

from pathlib import Path

from seedream_ui.shares import ShareStore, editor_form, form_for_link, parse_recipe, share_notice
from tests.images import image_bytes
from tests.shares_fixtures import clock, store  # noqa: F401  (fixtures of this module only)
from tests.shares_support import publish, sha


async def test_opening_a_share_in_the_editor_fills_every_field_and_brings_the_uploads_back(store: ShareStore) -> None:
    published = publish(store, "a fox in the snow")

    form = await form_for_link(store, published.id)

    assert form is not None
    assert (form.prompt, form.size, form.reference_urls) == ("a fox in the snow", "2560x1440", "https://example.com/ref.jpg")
    assert (form.watermark, form.optimize_prompt_mode) == (False, "standard")
    assert (form.sequential_image_generation, form.max_images) == ("auto", 3)
    [upload] = form.reference_files
    assert sha(Path(upload).read_bytes()) == sha(image_bytes("PNG", (300, 200), (20, 160, 90)))  # the bytes sent
    assert form.missing_uploads == ()
    assert form.reordered  # the helpers' request had its URL first; the page sends uploads first
    assert "before the URL references" in (form.notice() or "")


async def test_a_forged_expired_or_unshared_recipe_id_fills_nothing(store: ShareStore) -> None:
    published = publish(store)
    store.unshare(published.id, published.delete_token)

    for value in (published.id, "", "../../etc/passwd", "A" * 22, "x" * 10_000):
        assert await form_for_link(store, value) is None


def test_a_pasted_recipe_asks_for_the_files_it_cannot_bring_back() -> None:
    recipe = parse_recipe({"kind": "seedream-recipe", "version": 1, "prompt": "x",
                           "references": [{"upload": "cat.png", "file": "reference-1.png"}, {"url": "https://e.com/a.png"}]})

    form = editor_form(recipe)

    assert form.reference_files == ()
    assert form.missing_uploads == ("cat.png",)
    assert not form.reordered
    assert form.notice() == "Add these reference files again: cat.png."


def test_the_share_notice_gives_the_secret_delete_link_once(store: ShareStore) -> None:
    published = publish(store)

    notice = share_notice("https://example.org/demo", published)

    assert f"https://example.org/demo/s/{published.id}/unshare#{published.delete_token}" in notice
    assert "30 days" in notice
