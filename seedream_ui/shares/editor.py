"""Between shares and the page's form: what the Share button shows, and what "Open in the editor" fills in.

Plain functions (no Gradio): the page's handlers call them and map the result onto their components.
"""

from __future__ import annotations

from dataclasses import dataclass

from seedream_ui.shares.models import Published, Share
from seedream_ui.shares.recipe import Recipe, UploadReference
from seedream_ui.shares.routes import delete_url
from seedream_ui.shares.store import ShareStore


@dataclass(frozen=True)
class EditorForm:
    """The form's values for a recipe, named like generation.GenerationForm's fields."""

    prompt: str
    size: str
    reference_files: tuple[str, ...]  # stored copies of the uploads, in order (paths on this server)
    reference_urls: str  # one per line, for the URL box
    watermark: bool
    optimize_prompt_mode: str | None
    sequential_image_generation: str
    max_images: int | None
    missing_uploads: tuple[str, ...] = ()  # uploads the recipe names but cannot bring back
    reordered: bool = False  # the page sends uploads before URLs; this recipe had a URL first

    def notice(self) -> str | None:
        """A line for the page when the form is not exactly the recipe, else None."""
        notes = []
        if self.missing_uploads:
            notes.append(f"Add these reference files again: {', '.join(self.missing_uploads)}.")
        if self.reordered:
            notes.append("The uploads now come before the URL references, which changes their order.")
        return " ".join(notes) or None


def editor_form(recipe: Recipe, share: Share | None = None) -> EditorForm:
    """The form for a recipe; with the share it came from, its uploads come back as the stored copies."""
    stored = {r.file: share.folder / r.file for r in share.recipe.uploads if r.file} if share else {}
    files = tuple(str(stored[r.file]) for r in recipe.uploads if r.file in stored)
    missing = tuple(r.name for r in recipe.uploads if r.file not in stored)
    kinds = [isinstance(r, UploadReference) for r in recipe.references]
    return EditorForm(
        prompt=recipe.prompt,
        size=recipe.size,
        reference_files=files,
        reference_urls=recipe.url_lines(),
        watermark=recipe.watermark,
        optimize_prompt_mode=recipe.optimize_prompt_mode,
        sequential_image_generation=recipe.sequential_image_generation,
        max_images=recipe.max_images,
        missing_uploads=missing,
        reordered=kinds != sorted(kinds, reverse=True),
    )


async def form_for_link(store: ShareStore, recipe_param: str) -> EditorForm | None:
    """`?recipe=<id>` on the page: the shared generation's form, or None (then show nothing: the same for a
    forged, expired or unshared id as for no parameter)."""
    share = await store.aget(recipe_param)
    return editor_form(share.recipe, share) if share else None


def share_notice(root: str, published: Published) -> str:
    """Markdown under the Share link field: the secret delete link, shown this once."""
    days = (published.share.expires - published.share.created).days
    return (
        f"Anyone with the link can see these images, the prompt and the settings for {days} days. "
        f"To stop sharing, open this secret link (shown only now, keep it): <{delete_url(root, published)}>"
    )

