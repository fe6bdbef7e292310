"""Temporal stabiliser: a steady matte where the picture is still, no lag where it moves.
`TemporalStabiliser` is a MatteStage at the model's size; a cut, a size change or `reset()`
starts it afresh, and the first frame after that passes through unchanged.
Design notes: docs/matting.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.engine.imaging.downscale import shrink

MOTION_WIDTH = 160  # motion is measured on a copy about this wide (128x72 for a 256x144 map)
MIN_FLOW_SIZE = 16  # smaller motion images get no optical flow (DIS needs 12 px or more)


@dataclass(frozen=True)
class TemporalParams:
    """Tuning of the stabiliser; grey levels and confidence levels are 0..255.

    still_weight: share of the new confidence taken each frame where the picture is still.
    deadband: confidence changes smaller than this are ignored where the picture is still.
    motion_low, motion_high: grey-level change (after motion compensation, on the blurred
        motion-size image) below which a pixel is still and above which it moved; the
        weight ramps linearly between them.
    cut_level: mean grey-level change over the whole picture (after motion compensation)
        above which the frame is a cut; within a shot it stays below about 5.
    flow: carry the state along the image motion (DIS optical flow) before blending.
    flow_tolerance: where the state was carried along the flow, the picture change is
        divided by this before the ramp: resampling a textured picture along an estimated
        flow leaves a residual even where the motion was followed correctly.
    spread: the change is dilated by this many motion-size pixels, so the parts of the map
        next to a moving edge (which the model blurs across) follow it too.
    """

    still_weight: float = 0.28
    deadband: int = 20
    motion_low: float = 6.0
    motion_high: float = 20.0
    cut_level: float = 16.0
    flow: bool = True
    flow_tolerance: float = 2.0
    spread: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.still_weight <= 1.0:
            raise ValueError(f"still_weight must be within (0, 1], got {self.still_weight}")
        if not 0 <= self.deadband <= 255:
            raise ValueError(f"deadband must be within 0..255, got {self.deadband}")
        if not 0.0 <= self.motion_low < self.motion_high:
            raise ValueError("motion_low must be >= 0 and below motion_high")
        if self.flow_tolerance < 1.0 or self.spread < 0:
            raise ValueError("flow_tolerance must be >= 1 and spread >= 0")

    @classmethod
    def from_strength(cls, strength: float, *, flow: bool = True) -> "TemporalParams":
        """Parameters for a smoothing strength in 0..1: still pixels take 1 - 0.9 x strength
        of each new confidence and ignore changes below 25 x strength levels (the default
        0.8 gives 0.28 and 20, the defaults of this class; 1 gives 0.1 and 25)."""
        s = min(max(strength, 0.0), 1.0)
        return cls(still_weight=round(1.0 - 0.9 * s, 3), deadband=int(round(25 * s)), flow=flow)


def motion_size(size: tuple[int, int]) -> tuple[int, int]:
    """Size (w, h) at which motion is measured for a confidence map of `size`: an integer
    fraction of it, about MOTION_WIDTH wide."""
    w, h = size
    step = max(1, round(w / MOTION_WIDTH))
    return max(1, round(w / step)), max(1, round(h / step))


class TemporalStabiliser:
    """MatteStage that steadies the confidence over time (docs/matting.md). It runs at
    the model's size (`size = "model"`).

    Promises: the output has the input's shape and dtype (uint8); the first frame after
    construction, `reset()`, a cut or a size change is returned unchanged; where the picture
    changed by more than `motion_high` grey levels the output equals the input.
    """

    size = "model"

    def __init__(self, params: TemporalParams | None = None) -> None:
        self.params = params or TemporalParams()
        p = self.params
        ramp = np.clip((np.arange(256, dtype=np.float32) - p.motion_low) / (p.motion_high - p.motion_low), 0, 1)
        # weight of the new confidence (0..255) and the deadband (levels), by picture change
        self._weight_lut = np.round(255 * (p.still_weight + (1 - p.still_weight) * ramp)).astype(np.uint8)
        self._dead_lut = np.round(p.deadband * (1 - ramp)).astype(np.uint8)
        self._dis = None
        self.cuts = 0  # cuts detected so far (for statistics and tests)
        self.reset()

    def reset(self) -> None:
        """Forget the state: the next frame passes through unchanged."""
        self._state: np.ndarray | None = None
        self._prev_grey: np.ndarray | None = None
        self._grid_state: np.ndarray | None = None
        self._grid_small: np.ndarray | None = None

    @staticmethod
    def _grid(w: int, h: int) -> np.ndarray:
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        return cv2.merge((xs, ys))

    def _change(self, grey: np.ndarray, prev: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Picture change at motion size after motion compensation, and the flow (motion
        size, zero where the plain difference explains the picture) or None if all zero."""
        diff = cv2.blur(cv2.absdiff(grey, prev), (3, 3))
        if not self.params.flow or min(grey.shape) < MIN_FLOW_SIZE:
            return diff, None
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        flow = self._dis.calc(grey, prev, None)  # grey(x) ~ prev(x + flow(x))
        h, w = grey.shape
        if self._grid_small is None or self._grid_small.shape[:2] != (h, w):
            self._grid_small = self._grid(w, h)
        warped = cv2.remap(prev, cv2.add(self._grid_small, flow), None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        diff_flow = cv2.blur(cv2.absdiff(grey, warped), (3, 3))
        # where standing still explains the picture as well as the flow does, keep the state
        # unresampled, so a still scene is never blurred by sub-pixel flow noise
        still = cv2.compare(diff, cv2.add(diff_flow, 1), cv2.CMP_LE)
        flow[still > 0] = 0
        if cv2.countNonZero(cv2.bitwise_not(still)) == 0:
            return diff, None
        change = cv2.convertScaleAbs(diff_flow, alpha=1.0 / self.params.flow_tolerance)
        cv2.copyTo(diff, still, change)
        return change, flow

    def _warp(self, state: np.ndarray, flow: np.ndarray) -> np.ndarray:
        """`state` carried along `flow` (motion size), resampled only inside the bounding box
        of the moving pixels."""
        h, w = state.shape[:2]
        fh, fw = flow.shape[:2]
        sx, sy = w / fw, h / fh
        moving = cv2.compare(cv2.magnitude(flow[..., 0], flow[..., 1]), 0, cv2.CMP_GT)
        x, y, bw, bh = cv2.boundingRect(moving)
        # one motion pixel of margin, in state pixels, clipped to the map
        x0, y0 = max(0, int((x - 1) * sx)), max(0, int((y - 1) * sy))
        x1, y1 = min(w, int(np.ceil((x + bw + 1) * sx))), min(h, int(np.ceil((y + bh + 1) * sy)))
        if self._grid_state is None or self._grid_state.shape[:2] != (h, w):
            self._grid_state = self._grid(w, h)
        flow_work = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)[y0:y1, x0:x1]
        flow_work *= np.float32(sx)
        maps = cv2.add(self._grid_state[y0:y1, x0:x1], flow_work)
        fixed, frac = cv2.convertMaps(maps, None, cv2.CV_16SC2)
        out = state.copy()
        out[y0:y1, x0:x1] = cv2.remap(state, fixed, frac, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return out

    def process(self, conf: np.ndarray, guide: np.ndarray) -> np.ndarray:
        """The steadied confidence (uint8, conf's shape) for this frame; `guide` is the
        frame at conf's size (or larger), grey or RGB uint8."""
        h, w = conf.shape[:2]
        small = shrink(guide, motion_size((w, h)))
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        grey = cv2.GaussianBlur(small, (3, 3), 0)
        state, prev = self._state, self._prev_grey
        self._prev_grey = grey
        if state is None or prev is None or state.shape != conf.shape or prev.shape != grey.shape:
            self._state = conf.copy()
            return conf
        change, flow = self._change(grey, prev)
        if float(cv2.mean(change)[0]) > self.params.cut_level:
            self.cuts += 1
            self._state = conf.copy()
            return conf
        if flow is not None:
            state = self._warp(state, flow)
        if self.params.spread > 0:
            change = cv2.dilate(change, np.ones((2 * self.params.spread + 1,) * 2, np.uint8))
        weight = cv2.resize(cv2.LUT(change, self._weight_lut), (w, h), interpolation=cv2.INTER_LINEAR)
        dead = cv2.resize(cv2.LUT(change, self._dead_lut), (w, h), interpolation=cv2.INTER_LINEAR)
        # state + weight * shrink(conf - state, dead), in saturating uint8 arithmetic
        up = cv2.subtract(cv2.subtract(conf, state), dead)
        down = cv2.subtract(cv2.subtract(state, conf), dead)
        out = cv2.subtract(cv2.add(state, cv2.multiply(up, weight, scale=1 / 255)),
                           cv2.multiply(down, weight, scale=1 / 255))
        self._state = out
        return out
