"""Shared links to generations (issue 11): the store, the recipe format and the read-only pages.

    store = ShareStore.from_settings(settings)                 # SEEDREAM_DATA_DIR/shares
    published = await store.apublish(images, recipe, reference_files, visitor_hash)
    app.include_router(share_router(store))                    # GET /s/{id} and friends
"""

from seedream_ui.shares.editor import EditorForm, editor_form, form_for_link, share_notice
from seedream_ui.shares.errors import ShareError, ShareStoreError, ShareTooLargeError
from seedream_ui.shares.files import ReferenceFile, ShareImage, StoredImage, load_images, reference_files_from_request
from seedream_ui.shares.history import History, HistoryLimits
from seedream_ui.shares.models import Published, Share, ShareLimits
from seedream_ui.shares.recipe import (
    RECIPE_VERSION,
    Recipe,
    Reference,
    UploadReference,
    UrlReference,
    parse_recipe,
    recipe_from_request,
)
from seedream_ui.shares.retention import purge_periodically
from seedream_ui.shares.routes import delete_url, root_url, share_router, share_url
from seedream_ui.shares.store import ShareStore

__all__ = [
    "RECIPE_VERSION",
    "EditorForm",
    "History",
    "HistoryLimits",
    "Published",
    "Recipe",
    "Reference",
    "ReferenceFile",
    "Share",
    "ShareError",
    "ShareImage",
    "ShareLimits",
    "ShareStore",
    "ShareStoreError",
    "ShareTooLargeError",
    "StoredImage",
    "UploadReference",
    "UrlReference",
    "delete_url",
    "editor_form",
    "form_for_link",
    "load_images",
    "parse_recipe",
    "purge_periodically",
    "recipe_from_request",
    "reference_files_from_request",
    "root_url",
    "share_notice",
    "share_router",
    "share_url",
]
