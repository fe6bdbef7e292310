"""Mask folders: DATA/images/ and DATA/masks/ with the same file names (stems), or photos
in DATA itself with a DATA/masks/ subfolder; per-product subfolders (images/ring-12/a.jpg
with masks/ring-12/a.png) give the pair's group."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from app.engine.core.errors import InputError
from app.engine.sources.images import natural_key
from app.training.data.pairs import Collected, Pair
from app.training.data.photos import group_of, is_photo, upright_size

MASKS = "masks"
IMAGES = "images"

Key = tuple[str, str]  # (folder relative to the root, as "a/b"; file stem)


def is_mask_folder(folder: Path) -> bool:
    """Whether `folder` is laid out as a mask folder (it has a masks/ subfolder)."""
    return (folder / MASKS).is_dir()


def read_mask_folder(folder: Path) -> Collected:
    """The pairs of a mask folder, and a problem line for each photo without a mask, mask
    without a photo, two files of one name, unreadable file and mask whose size differs
    from its photo's. A mask is object where it is > 127 (see `read_mask_file`)."""
    found = Collected()
    mask_root = folder / MASKS
    photo_root = folder / IMAGES if (folder / IMAGES).is_dir() else folder
    photos = _index(photo_root, mask_root, found.problems, "photo")
    masks = _index(mask_root, None, found.problems, "mask")
    for key, photo in photos.items():
        mask = masks.get(key)
        if mask is None:
            where = mask_root / key[0] / f"{key[1]}.png" if key[0] else mask_root / f"{key[1]}.png"
            found.problems.append(f"{photo}: photo without a mask (no {where.relative_to(folder)} "
                                  "or another image of that name)")
            continue
        pair = _pair(photo, mask, group_of(key[0]), found.problems)
        if pair is not None:
            found.pairs.append(pair)
    for key, mask in masks.items():
        if key not in photos:
            found.problems.append(f"{mask}: mask without a photo (no {key[1]}.* in "
                                  f"{(photo_root / key[0]) if key[0] else photo_root})")
    return found


def _pair(photo: Path, mask: Path, group: str | None, problems: list[str]) -> Pair | None:
    try:
        size = upright_size(photo)
    except InputError as exc:
        problems.append(str(exc))
        return None
    try:
        mask_size = upright_size(mask)
    except InputError as exc:
        problems.append(str(exc))
        return None
    if mask_size != size:
        problems.append(f"{mask}: mask size {mask_size[0]}x{mask_size[1]} differs from the photo's "
                        f"{size[0]}x{size[1]} ({photo.name}, upright)")
        return None
    return Pair(image=photo, source=f"mask {mask}", group=group, size=size, mask_file=mask)


def _index(root: Path, skip: Path | None, problems: list[str], what: str) -> dict[Key, Path]:
    """The images under `root` (not under `skip`, nor hidden) by (folder, stem), in
    natural order; a second file with the same key is a problem line."""
    index: dict[Key, Path] = {}
    for path in sorted(_files(root, skip), key=lambda p: [natural_key(Path(part)) for part in p.relative_to(root).parts]):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        key = (str(rel.parent) if str(rel.parent) != "." else "", path.stem)
        if key in index:
            problems.append(f"{path}: another {what} has the same name ({index[key].name}): not used")
            continue
        index[key] = path
    return index


def _files(root: Path, skip: Path | None) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if skip is not None and (path == skip or skip in path.parents):
            continue
        if is_photo(path):
            found.append(path)
    return found
