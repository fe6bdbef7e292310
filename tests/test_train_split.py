"""The train / validation / test split of `backdrop train`: seeded, whole groups to one side
(declared subfolders, and re-shots that look alike), and folds that test every group once."""

from __future__ import annotations

import numpy as np
import pytest

from app.training import split


def photo(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (60, 80, 3), dtype=np.uint8)


def reshot(image: np.ndarray, seed: int) -> np.ndarray:
    """The same arrangement photographed again: a little noise and a brightness change."""
    noise = np.random.default_rng(seed).normal(0, 4, image.shape)
    return np.clip(image * 1.05 + noise, 0, 255).astype(np.uint8)


def sides(part: split.Split, i: int) -> str:
    return next(side for side in ("train", "validation", "test") if i in getattr(part, side))


def test_look_alike_photos_and_declared_groups_share_a_key():
    base = [photo(s) for s in range(6)]
    images = base + [reshot(base[0], 1), reshot(base[0], 2), photo(50), photo(51)]
    declared = [None] * 8 + ["box-7", "box-7"]
    keys = split.group_keys(declared, [split.thumbnail(im) for im in images])
    assert keys[0] == keys[6] == keys[7]  # the re-shots of photo 0
    assert len({keys[i] for i in range(6)}) == 6  # different photos stay apart
    assert keys[8] == keys[9] == "group:box-7"


def test_a_split_is_seeded_covers_every_photo_and_keeps_groups_whole():
    keys = [f"group:{i // 3}" for i in range(60)]  # 20 products, 3 shots each
    part = split.split(keys, seed=7)
    assert part == split.split(keys, seed=7) and part != split.split(keys, seed=8)
    assert sorted(part.train + part.validation + part.test) == list(range(60))
    assert part.validation and part.test and len(part.train) >= 36
    for g in range(20):
        assert len({sides(part, i) for i in range(3 * g, 3 * g + 3)}) == 1


def test_folds_test_every_group_once_and_tiny_sets_validate_nothing():
    keys = [f"photo:{i}" for i in range(8)]
    parts = split.folds(keys, 4, seed=0)
    assert sorted(i for p in parts for i in p.test) == list(range(8))
    assert all(not p.validation and len(p.train) == 6 for p in parts)  # under MIN_VALIDATED photos
    many = [f"group:{i // 2}" for i in range(40)]
    for p in split.folds(many, 5, seed=0):
        assert p.validation and not set(p.validation) & set(p.test)
        assert sorted(p.train + p.validation + p.test) == list(range(40))


def test_too_few_products_are_refused():
    with pytest.raises(ValueError, match="three different products"):
        split.split(["group:a", "group:a", "group:b", "group:b"], seed=0)
    with pytest.raises(ValueError, match="--folds 4"):
        split.folds(["photo:0", "photo:1", "photo:2"], 4, seed=0)
