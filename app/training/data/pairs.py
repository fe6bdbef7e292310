"""A photo and its object mask, as the importers find them: paths and parsed shapes only,
decoded when a trainer asks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.engine.core.errors import InputError
from app.engine.imaging.images import load_photo
from app.training.data.photos import read_mask_file, shrink_mask, upright_size
from app.training.data.shapes import Shape, render


@dataclass(frozen=True)
class Pair:
    """One annotated photo. `image` is the photo file; `source` the annotation it came from
    (its file path, or "mask FILE" for a mask folder), for messages and fingerprints; `group`
    a product/group key when the data's layout gives one (a per-product subfolder), else
    None. The mask is `mask_file` (a mask image) or else `shapes` painted in order onto a
    blank canvas of `size`, the photo's upright (w, h) that `collect` checked (None: read
    from the photo's header when needed). Nothing decoded is kept."""

    image: Path
    source: str
    group: str | None
    size: tuple[int, int] | None = None
    mask_file: Path | None = None
    shapes: tuple[Shape, ...] = field(default=(), repr=False)

    def load_image(self, max_side: int | None = None) -> np.ndarray:
        """The photo as RGB uint8 (h, w, 3), upright, no side over `max_side` (if given);
        InputError naming the file if it cannot be read."""
        return load_photo(self.image, max_side).rgb

    def load_mask(self, max_side: int | None = None) -> np.ndarray:
        """The object mask as uint8 (h, w) of 0 and 255, the size `load_image(max_side)`
        returns (shrunk with INTER_AREA, then thresholded at 128). InputError naming the
        file if a mask file cannot be read or no longer matches the photo's size, or a bitmap
        shape does not decode (collect checks them first)."""
        size = self.size or upright_size(self.image)
        if self.mask_file is not None:
            mask = read_mask_file(self.mask_file)
            if mask.shape[::-1] != tuple(size):
                raise InputError(f"{self.mask_file}: mask is {mask.shape[1]}x{mask.shape[0]} "
                                 f"but the photo {self.image.name} is {size[0]}x{size[1]}")
        else:
            try:
                mask = render(self.shapes, size)
            except ValueError as exc:  # a bitmap changed or broken since collect checked it
                raise InputError(f"{self.source}: {self.image.name}: {exc}") from None
        if max_side is not None and max(size) > max_side:
            mask = shrink_mask(mask, upright_size(self.image, max_side))
        return mask

    def load(self, max_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """`load_image(max_side)` and `load_mask(max_side)` together; the mask is the
        image's size in every case (also for formats whose reduced decoding the header
        alone does not tell)."""
        image = self.load_image(max_side)
        mask = self.load_mask(max_side)
        return image, shrink_mask(mask, (image.shape[1], image.shape[0]))


@dataclass
class Collected:
    """What `collect` found: usable pairs, and one line "PATH: reason" for each thing it
    could not use (a photo without a mask, an empty annotation, an unreadable file...)."""

    pairs: list[Pair] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, other: Collected) -> None:
        """Append `other`'s pairs and problems."""
        self.pairs.extend(other.pairs)
        self.problems.extend(other.problems)
