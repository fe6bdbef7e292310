"""Annotated photos in: mask folders, LabelMe, COCO and CVAT exports, as photo + mask pairs.

`collect(paths)` reads any mix of them and returns `Collected(pairs, problems)`; each `Pair`
holds paths and parsed shapes only and decodes its photo and mask on `load_image` and
`load_mask`."""

from app.training.data.collect import collect
from app.training.data.pairs import Collected, Pair

__all__ = ["Collected", "Pair", "collect"]
