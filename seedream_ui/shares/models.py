"""What a share is, as the store hands it out: plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from seedream_ui.config import Settings
from seedream_ui.shares.files import StoredImage
from seedream_ui.shares.recipe import Recipe

MB = 1024 * 1024


@dataclass(frozen=True)
class ShareLimits:
    days: float = 30.0  # 0: sharing is switched off
    max_bytes_per_visitor: int = 200 * MB
    max_bytes: int = 5000 * MB

    @classmethod
    def from_settings(cls, settings: Settings) -> ShareLimits:
        return cls(
            settings.share_days,
            int(settings.share_max_mb_per_visitor * MB),
            int(settings.share_max_mb * MB),
        )


@dataclass(frozen=True)
class Share:
    id: str
    recipe: Recipe  # uploads carry `file`, the name of their stored copy
    images: tuple[StoredImage, ...]
    thumbnails: tuple[str | None, ...]  # per reference, in order: its thumbnail's file name, if it has one
    created: datetime  # when it was shared (the recipe's `created` is when it was generated)
    expires: datetime
    folder: Path

    def image_path(self, n: int) -> Path | None:
        """The n-th result (1-based), or None."""
        return self.folder / self.images[n - 1].file if 1 <= n <= len(self.images) else None

    def thumbnail_path(self, n: int) -> Path | None:
        name = self.thumbnails[n - 1] if 1 <= n <= len(self.thumbnails) else None
        return self.folder / name if name else None

    def reference_paths(self) -> list[Path]:
        """The stored copies of the uploaded references, in order: what "Open in the editor" loads."""
        return [self.folder / r.file for r in self.recipe.uploads if r.file]


@dataclass(frozen=True)
class Published:
    id: str
    delete_token: str  # shown once to the sharer; only its hash is kept
    share: Share
