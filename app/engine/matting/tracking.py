"""Following the person from frame to frame, so that the model sees them large:
`PersonTracker` plans each frame's model passes (a crop around the person, or the whole
frame) from the last frame's map. Design notes and figures: docs/matting.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engine.matting.presets import LANDSCAPE_ASPECT, shape_model

TRACK_MARGIN = 0.15      # share of the person's box added on each side of the crop
REFRESH_FRAMES = 30      # the whole frame is segmented again at least this often
ENTER_AREA = 0.6         # tracking starts when the crop covers less of the frame than this
LEAVE_AREA = 0.8         # ... and stops when it covers more than this
ASPECT_HYSTERESIS = 1.15  # a crop's model changes only when its shape is this far past 4:3

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels


def clamp_span(lo: float, hi: float, limit: int) -> tuple[float, float]:
    """The span lo..hi shifted to lie within 0..limit, then cut to it."""
    if lo < 0:
        lo, hi = 0.0, hi - lo
    if hi > limit:
        lo, hi = lo - (hi - limit), float(limit)
    return max(0.0, lo), hi


def person_bounds(conf: np.ndarray, frame_size: tuple[int, int],
                  margin: float) -> tuple[float, float, float, float] | None:
    """The box (frame pixels) of confidence > 0.5 in `conf` (a map of the whole frame),
    widened by `margin` of its size on each side, within the frame; None if no person."""
    ys, xs = np.nonzero(conf > 0.5)
    if len(xs) == 0:
        return None
    w, h = frame_size
    sx, sy = w / conf.shape[1], h / conf.shape[0]
    x0, x1 = xs.min() * sx, (xs.max() + 1) * sx
    y0, y1 = ys.min() * sy, (ys.max() + 1) * sy
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    return max(0.0, x0 - mx), max(0.0, y0 - my), min(float(w), x1 + mx), min(float(h), y1 + my)


def fit_box(bounds: tuple[float, float, float, float], input_size: tuple[int, int],
            frame_size: tuple[int, int]) -> Box | None:
    """`bounds` widened (about its centre, kept within the frame) to the shape of a model
    input of `input_size`, in whole pixels; None if that is the whole frame or under 8 px."""
    x0, y0, x1, y1 = bounds
    w, h = frame_size
    iw, ih = input_size
    if (x1 - x0) * ih < (y1 - y0) * iw:  # narrower than the model's input: widen
        grow = (y1 - y0) * iw / ih - (x1 - x0)
        x0, x1 = clamp_span(x0 - grow / 2, x1 + grow / 2, w)
    else:
        grow = (x1 - x0) * ih / iw - (y1 - y0)
        y0, y1 = clamp_span(y0 - grow / 2, y1 + grow / 2, h)
    box = int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))
    if (box[2] - box[0] >= w and box[3] - box[1] >= h) or min(box[2] - box[0], box[3] - box[1]) < 8:
        return None
    return box


@dataclass(frozen=True)
class Plan:
    """What to segment for the next frame: the whole frame (`whole`), the crop `box` (None:
    no crop) with model `model`, or both (the crop's map wins inside the box)."""

    whole: bool
    box: Box | None
    model: str | None = None


class PersonTracker:
    """Plans each frame's model passes from the last frame's map (docs/matting.md).

    `models` maps the names of the models a crop may use to their input sizes (width,
    height): one, always used; or the bundled "general" and "landscape", picked by the
    crop's shape with hysteresis.
    """

    def __init__(self, models: dict[str, tuple[int, int]]) -> None:
        self.models = dict(models)
        self.reset()

    def reset(self) -> None:
        """Forget the person (a cut, a new source): the next frame is segmented whole."""
        self._plan = Plan(True, None)
        self._since_whole = 0
        self._model: str | None = None

    def plan(self) -> Plan:
        return self._plan

    def update(self, conf: np.ndarray, frame_size: tuple[int, int]) -> None:
        """Learn from this frame's map of the whole frame (any size, the frame's aspect)."""
        last = self._plan
        self._since_whole = 0 if last.whole else self._since_whole + 1
        touched = last.box is not None and self._touches_inner_edge(conf, last.box, frame_size)
        bounds = person_bounds(conf, frame_size, TRACK_MARGIN)
        model = None if bounds is None else self._pick_model(bounds)
        box = None if bounds is None else fit_box(bounds, self.models[model], frame_size)
        if box is not None:
            w, h = frame_size
            share = (box[2] - box[0]) * (box[3] - box[1]) / float(w * h)
            if share > (LEAVE_AREA if last.box is not None else ENTER_AREA):
                box = None
        whole = box is None or touched or self._since_whole + 1 >= REFRESH_FRAMES
        self._plan = Plan(whole, box, model if box is not None else None)

    def _pick_model(self, bounds: tuple[float, float, float, float]) -> str:
        if len(self.models) == 1:
            return next(iter(self.models))
        x0, y0, x1, y1 = bounds
        aspect = (x1 - x0) / max(y1 - y0, 1e-6)
        if self._model is None:
            self._model = shape_model((int(round(x1 - x0)), int(round(y1 - y0))))
        elif aspect > LANDSCAPE_ASPECT * ASPECT_HYSTERESIS:
            self._model = "landscape"
        elif aspect < LANDSCAPE_ASPECT / ASPECT_HYSTERESIS:
            self._model = "general"
        return self._model

    @staticmethod
    def _touches_inner_edge(conf: np.ndarray, box: Box, frame_size: tuple[int, int]) -> bool:
        """Whether the person reaches an edge of `box` that is not an edge of the frame."""
        w, h = frame_size
        mh, mw = conf.shape
        x0, y0 = int(box[0] * mw / w), int(box[1] * mh / h)
        x1, y1 = min(mw, int(np.ceil(box[2] * mw / w))), min(mh, int(np.ceil(box[3] * mh / h)))
        inside = conf[y0:y1, x0:x1] > 0.5
        if inside.size == 0:
            return False
        edges = [(box[0] > 0, inside[:, 0]), (box[2] < w, inside[:, -1]),
                 (box[1] > 0, inside[0, :]), (box[3] < h, inside[-1, :])]
        return any(inner and bool(line.any()) for inner, line in edges)
