"""Train / validation / test splits of annotated photos, seeded and grouped: re-shots of one
product (a per-product subfolder, or photos that look alike) always fall on one side.
`--folds K` gives K splits whose test parts cover every group once (cross-validation)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

# Below this many photos, a fold keeps no validation part: every photo not tested trains, and the
# run goes the whole --epochs (one validation photo is too noisy to stop on; on the 8 ring photos
# it picked the edge level 0.9 that cost 0.1 IoU on the test photos).
MIN_VALIDATED = 20
LOOK_ALIKE = 0.97  # correlation of two 24x24 grey thumbnails above which two photos are re-shots
VALIDATION_SHARE = 0.15
TEST_SHARE = 0.15


@dataclass(frozen=True)
class Split:
    """Indices into the pairs, per side."""

    train: tuple[int, ...]
    validation: tuple[int, ...]
    test: tuple[int, ...]

    def as_dict(self, names: list[str]) -> dict[str, list[str]]:
        return {side: [names[i] for i in getattr(self, side)] for side in ("train", "validation", "test")}


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """A 24x24 grey thumbnail, zero mean and unit norm (for look-alike tests)."""
    import cv2

    grey = cv2.cvtColor(cv2.resize(rgb, (24, 24), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    v = grey.astype(np.float32).ravel()
    v -= v.mean()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def group_keys(declared: list[str | None], thumbs: list[np.ndarray]) -> list[str]:
    """One group key per photo: the declared group where there is one, else the first photo of
    its look-alike cluster (thumbnails correlated above LOOK_ALIKE, linked transitively)."""
    parent = list(range(len(thumbs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    free = [i for i, g in enumerate(declared) if g is None]
    for a_pos, a in enumerate(free):
        for b in free[a_pos + 1:]:
            if float(thumbs[a] @ thumbs[b]) > LOOK_ALIKE:
                parent[root(b)] = root(a)
    return [f"group:{g}" if g is not None else f"photo:{root(i)}" for i, g in enumerate(declared)]


def _ordered_groups(keys: list[str], seed: int) -> list[list[int]]:
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    ordered = [groups[k] for k in sorted(groups)]
    random.Random(seed).shuffle(ordered)
    return ordered


def _take(groups: list[list[int]], share: float, total: int, keep: int = 1) -> tuple[list[int], list[list[int]]]:
    """At least one group, then groups while they fit in `share` of `total` photos, leaving at
    least `keep` groups."""
    taken: list[int] = []
    rest = list(groups)
    while len(rest) > keep and (not taken or len(taken) + len(rest[0]) <= max(1, round(share * total))):
        taken += rest.pop(0)
    return taken, rest


def split(keys: list[str], seed: int) -> Split:
    """About 70 / 15 / 15 photos, whole groups to a side, at least one group in each side
    (needs three groups)."""
    if len(set(keys)) < 3:
        raise ValueError("a split needs photos of at least three different products")
    groups = _ordered_groups(keys, seed)
    test, groups = _take(groups, TEST_SHARE, len(keys), keep=2)
    validation, groups = _take(groups, VALIDATION_SHARE, len(keys))
    train = [i for g in groups for i in g]
    return Split(tuple(sorted(train)), tuple(sorted(validation)), tuple(sorted(test)))


def folds(keys: list[str], k: int, seed: int) -> list[Split]:
    """K splits: the groups dealt into K test parts; in each, VALIDATION_SHARE of the photos
    (at least one group) validates and the rest trains; with fewer than MIN_VALIDATED photos
    nothing validates."""
    groups = _ordered_groups(keys, seed)
    if not 2 <= k <= len(groups) - 1:
        raise ValueError(f"--folds {k}: needs 2 to {len(groups) - 1} folds for {len(groups)} products")
    parts: list[list[list[int]]] = [groups[i::k] for i in range(k)]
    result = []
    for i in range(k):
        test = [j for g in parts[i] for j in g]
        rest = [g for p, part in enumerate(parts) if p != i for g in part]
        validation, training = _take(rest, VALIDATION_SHARE, len(keys)) if len(keys) >= MIN_VALIDATED \
            else ([], rest)
        result.append(Split(tuple(sorted(j for g in training for j in g)), tuple(sorted(validation)),
                            tuple(sorted(test))))
    return result
