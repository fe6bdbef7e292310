"""The `auto` preset of live mode: at start, measure what each candidate preset costs here on
the camera's own frames for about a second, best first, and take the first that fits the
frame budget; while running, fall back to the next candidate when the stream does not keep
up. Every choice comes with its reason, in words a user can read."""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from app.engine.core.stats import StatsSnapshot
from app.engine.matting.presets import AUTO, AUTO_CANDIDATES, MatteSettings
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.runner import RunsStages
from app.engine.sources.base import LiveSource

log = logging.getLogger("backdrop.auto")

MEASURE_S = 1.0  # time spent measuring each candidate
WARMUP_FRAMES = 3  # run before measuring (model start-up, the tracker finding the person)
CLEAR_AFTER, CLEAR_RANGE = 8, (0.5, 1.5)  # measuring stops early outside this share of the budget
# Share of a frame's time the matte (segment + refine, one thread) may take: the rest goes to
# capture, compositing and output, which share the same cores.
BUDGET_SHARE = 0.6
FLOOR_FPS = 24.0  # below this, with frames dropped, for FALLBACK_AFTER snapshots: fall back
FALLBACK_AFTER = 3
WARMUP_S = 3.0  # no fallback before the stream has run this long


@dataclass(frozen=True)
class AutoChoice:
    """The preset auto runs (`preset`), what each measured candidate cost (ms per frame,
    segment + refine, in measuring order), the budget, and why (`reason`)."""

    preset: str
    costs_ms: dict[str, float]
    budget_ms: float
    fps: float
    reason: str = ""

    def describe(self) -> str:
        """One line: 'auto: quality (rvm 21 ms a frame fits the 20 ms budget at 30 fps)'."""
        return f"auto: {self.preset} ({self.reason})"


def frame_cost_ms(settings: MatteSettings, frame: np.ndarray, seconds: float = MEASURE_S,
                  budget_ms: float | None = None) -> tuple[float, Segmenter]:
    """The median ms that segmenting and refining `frame` (RGB) takes under `settings`,
    measured for about `seconds` (at least 3 frames) after WARMUP_FRAMES, or until CLEAR_AFTER
    frames put the median outside CLEAR_RANGE times `budget_ms`; and the segmenter, its
    state reset for the stream."""
    segmenter = Segmenter.for_video(settings, (frame.shape[1], frame.shape[0]))
    refiner = MatteRefiner(settings)

    def one_frame() -> float:
        t0 = time.perf_counter()
        refiner.refine(segmenter.confidence(frame), frame)
        return time.perf_counter() - t0

    try:
        for _ in range(WARMUP_FRAMES):
            one_frame()
        times: list[float] = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(times) < 3:
            times.append(one_frame())
            if budget_ms is not None and len(times) >= CLEAR_AFTER and not (
                    CLEAR_RANGE[0] <= statistics.median(times) * 1000.0 / budget_ms <= CLEAR_RANGE[1]):
                break  # clearly over or under: the choice is plain already
    except BaseException:
        segmenter.close()
        raise
    segmenter.reset()
    return statistics.median(times) * 1000.0, segmenter


def choose(settings: MatteSettings, frame: np.ndarray, fps: float,
           candidates: tuple[str, ...] = AUTO_CANDIDATES, seconds: float = MEASURE_S
           ) -> tuple[AutoChoice, Segmenter]:
    """The first of `candidates` (best first) whose cost on `frame` fits the budget at `fps`,
    else the last (the cheapest); and its segmenter, ready for the stream."""
    budget = 1000.0 / max(fps, 1.0) * BUDGET_SHARE
    costs: dict[str, float] = {}
    for index, name in enumerate(candidates):
        cost, segmenter = frame_cost_ms(settings.resolved(name), frame, seconds, budget)
        costs[name] = cost
        model = segmenter.description
        last = index == len(candidates) - 1
        if cost <= budget or last:
            verdict = "fits" if cost <= budget else "is over, and nothing cheaper is left in"
            before = "; ".join(f"{n} {c:.0f} ms is over it" for n, c in costs.items() if n != name)
            reason = (f"{model}: {cost:.0f} ms a frame {verdict} the {budget:.0f} ms budget at "
                      f"{fps:g} fps" + (f"; {before}" if before else ""))
            return AutoChoice(name, costs, budget, fps, reason), segmenter
        segmenter.close()
    raise ValueError("no candidates")  # unreachable: the loop returns on the last


@dataclass
class AutoFallback:
    """Watches a running stream's figures. When, WARMUP_S after the start or the last switch,
    it puts out fewer than FLOOR_FPS frames a second while dropping camera frames (the
    pipeline, not the camera, is short) for FALLBACK_AFTER snapshots in a row, it calls
    `fall_back(preset, reason)` with the next candidate; the last one has nowhere to go."""

    choice: AutoChoice
    fall_back: Callable[[str, str], None]
    candidates: tuple[str, ...] = AUTO_CANDIDATES
    _short: int = 0
    _dropped: int | None = None
    _since_s: float = 0.0

    def observe(self, snapshot: StatsSnapshot) -> None:
        """Take one snapshot (from the pipeline's stats callback)."""
        dropped_more = self._dropped is not None and snapshot.dropped > self._dropped
        self._dropped = snapshot.dropped
        if snapshot.elapsed_s - self._since_s < WARMUP_S:
            return
        self._short = self._short + 1 if snapshot.fps_out < FLOOR_FPS and dropped_more else 0
        position = self.candidates.index(self.choice.preset) if self.choice.preset in self.candidates else -1
        if self._short < FALLBACK_AFTER or not 0 <= position < len(self.candidates) - 1:
            return
        nxt = self.candidates[position + 1]
        reason = (f"{self.choice.preset} gave {snapshot.fps_out:.1f} fps with camera frames dropped "
                  f"(below {FLOOR_FPS:g}), so {nxt}")
        self.choice = replace(self.choice, preset=nxt, reason=reason)
        self._short, self._since_s = 0, snapshot.elapsed_s
        log.warning("auto: %s", reason)
        self.fall_back(nxt, reason)


def wants_auto(settings: MatteSettings, model_override: str | None) -> bool:
    """Whether auto has anything to choose: the preset is auto and no model is forced."""
    return settings.preset == AUTO and not model_override


FIRST_FRAME_S = 3.0  # how long to wait for the camera's first frame to measure on


def open_matte(settings: MatteSettings, source: LiveSource, model_override: str | None = None,
               known: str | None = None) -> tuple[Segmenter, MatteSettings, AutoChoice | None]:
    """The segmenter and matte settings a live stream from `source` starts with. Under auto
    (`wants_auto`) the candidates are measured on the source's first frame (a grey one if
    none comes in FIRST_FRAME_S) at its frame rate, unless `known` names the preset chosen
    before for the same stream; the choice is returned with its reason and logged."""
    if not wants_auto(settings, model_override):
        return Segmenter.for_video(settings, source.size, model_override), settings, None
    fps = float(source.frame_rate)
    if known is not None:
        resolved = settings.resolved(known)
        choice = AutoChoice(known, {}, 1000.0 / max(fps, 1.0) * BUDGET_SHARE, fps, "chosen before for this stream")
        return Segmenter.for_video(resolved, source.size), resolved, choice
    image = source.first_picture(FIRST_FRAME_S)
    if image is None:
        image = np.full((source.size[1], source.size[0], 3), 128, np.uint8)
    choice, segmenter = choose(settings, image, fps)
    log.info("%s", choice.describe())
    return segmenter, settings.resolved(choice.preset), choice


def switch_in_background(pipeline: RunsStages, settings: MatteSettings, size: tuple[int, int],
                         on_error: Callable[[str], None]) -> threading.Thread:
    """Open the segmenter `settings` asks for off the stream's threads and hand it to
    `pipeline` with the settings (from its next frame); `on_error(line)` if it cannot open."""
    def run() -> None:
        try:
            pipeline.switch_matte(Segmenter.for_video(settings, size), settings)
        except Exception as exc:  # the stream goes on with what it has
            on_error(f"auto: could not switch to {settings.preset} ({exc}); staying as it is")

    thread = threading.Thread(target=run, name="backdrop-auto-switch", daemon=True)
    thread.start()
    return thread
