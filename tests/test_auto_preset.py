"""The `auto` preset: real models measured on a real frame, the choice and its reason, the
fallback when a stream does not keep up, and the hand-over of a new segmenter between frames."""

from __future__ import annotations

import numpy as np
import pytest
from support import media

from app.engine.backgrounds.base import ColourBackground
from app.engine.compositing.cpu import CpuCompositor
from app.engine.core.frame import Frame
from app.engine.core.stats import PipelineStats, StatsSnapshot
from app.engine.live import auto
from app.engine.matting.presets import AUTO, MatteSettings
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.runner import StageRunner

FRAME = media.portrait((320, 240))


def snapshot(elapsed_s: float, fps_out: float, dropped: int) -> StatsSnapshot:
    return StatsSnapshot(frames_in=0, frames_out=0, dropped=dropped, fps_in=fps_out, fps_out=fps_out, stage_ms={},
                         latency_ms_p50=0, latency_ms_p95=0, elapsed_s=elapsed_s)


def test_a_generous_budget_takes_the_best_candidate_and_says_it_fits():
    choice, segmenter = auto.choose(MatteSettings(preset=AUTO), FRAME, fps=1.0, seconds=0.2)
    try:
        assert choice.preset == "quality"
        assert segmenter.model.name == "rvm"
        assert list(choice.costs_ms) == ["quality"]  # the best fits: nothing else is measured
        assert "fits" in choice.reason and "rvm on cpu" in choice.reason
        assert choice.describe().startswith("auto: quality (")
    finally:
        segmenter.close()


def test_a_budget_nothing_meets_takes_the_cheapest_and_says_so():
    choice, segmenter = auto.choose(MatteSettings(preset=AUTO), FRAME, fps=1000.0, seconds=0.2)
    try:
        assert choice.preset == "balanced"
        assert segmenter.model.name == "general"  # 4:3 frame: the MediaPipe model of its shape
        assert set(choice.costs_ms) == {"quality", "balanced"}
        assert all(cost > 0 for cost in choice.costs_ms.values())
        assert "is over" in choice.reason and "quality" in choice.reason
    finally:
        segmenter.close()


def test_settings_under_auto_resolve_to_the_choice_and_otherwise_stay():
    s = MatteSettings(preset=AUTO, threshold=0.4)
    assert s.resolved("quality").preset == "quality" and s.resolved("quality").threshold == 0.4
    assert s.resolved(None) is s
    assert MatteSettings(preset="fast").resolved("quality").preset == "fast"
    assert s.preset_spec.name == "balanced"  # unmeasured (files): refines like balanced


def _watch(candidates=("quality", "balanced"), preset="quality"):
    calls: list[tuple[str, str]] = []
    choice = auto.AutoChoice(preset, {}, 20.0, 30.0, "test")
    return auto.AutoFallback(choice, lambda p, r: calls.append((p, r)), candidates), calls


def test_a_stream_short_of_frames_while_dropping_falls_back_once_to_the_next_candidate():
    watch, calls = _watch()
    dropped = 0
    for second in range(1, 12):
        dropped += 5
        watch.observe(snapshot(float(second), 18.0, dropped))
    assert [p for p, _ in calls] == ["balanced"]
    assert "18.0 fps" in calls[0][1] and "balanced" in calls[0][1]
    assert watch.choice.preset == "balanced"


def test_no_fallback_while_warming_up_without_drops_or_from_the_last_candidate():
    watch, calls = _watch()
    for second in range(1, 3):  # warm-up: however short
        watch.observe(snapshot(float(second), 5.0, second * 10))
    for second in range(3, 10):  # a slow camera: few frames, none dropped
        watch.observe(snapshot(float(second), 15.0, 20))
    assert calls == []
    last, calls = _watch(preset="balanced")
    for second in range(1, 12):
        last.observe(snapshot(float(second), 10.0, second * 10))
    assert calls == []


def test_a_switched_matte_is_used_from_the_next_frame_and_the_old_segmenter_closed():
    first = Segmenter("general", video=True, track=False)
    second = Segmenter("landscape", video=True, track=False)
    runner = StageRunner(first, MatteRefiner(MatteSettings()), ColourBackground((0, 0, 255)), PipelineStats(),
                         compositor=CpuCompositor(), owns_compositor=True)
    frame = Frame(FRAME, 0, 0)
    try:
        runner.segment(frame)
        runner.switch_matte(second, MatteSettings(preset="fast"))
        assert runner.segmenter is first  # until the next frame
        item = runner.segment(frame)
        assert runner.segmenter is second and runner.refiner.settings.preset == "fast"
        assert runner.stats.model == "landscape on cpu"
        assert first.model._segmenter is None  # closed by the segmenting thread
        assert isinstance(runner.composite(item, 0.0).image, np.ndarray)
    finally:
        runner.close()
        second.close()
        first.close()


def test_a_matte_handed_over_after_the_end_is_closed_not_kept():
    runner = StageRunner(Segmenter("general", video=True, track=False), MatteRefiner(MatteSettings()),
                         ColourBackground((0, 0, 0)), PipelineStats(), compositor=CpuCompositor(), owns_compositor=True)
    late = Segmenter("landscape", video=True, track=False)
    runner.close()
    runner.segmenter.close()
    runner.switch_matte(late, MatteSettings())
    assert late.model._segmenter is None


@pytest.mark.parametrize("preset", ["balanced", AUTO])
@pytest.mark.slow
def test_the_live_command_says_what_auto_chose_and_why(run_cli, preset):
    result = run_cli("run", "--camera", "demo", "--size", "320x240", "--vcam-backend", "null", "--vcam",
                     "--mic", "none", "--duration", "1.5", "--quiet", "--preset", preset)
    assert result.rc == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "auto:" in line]
    if preset == AUTO:
        assert lines and ("fits" in lines[0] or "is over" in lines[0]), result.stderr
    else:
        assert lines == []


@pytest.mark.slow
def test_measuring_at_start_loses_nothing_of_a_file_played_once_as_the_camera(run_cli, tmp_path):
    clip = media.make_video(tmp_path / "talk.mp4", frames=60, audio=False)  # 2 s, no --loop
    record = tmp_path / "rec.mp4"
    result = run_cli("run", "--camera", clip, "--record", record, "--mic", "none", "--duration", "6",
                     "--quiet", "--preset", AUTO)
    assert result.rc == 0, result.stderr
    assert "auto: " in result.stderr
    assert media.probe(record, decode_audio=False).frames >= 45, "the file played from its start, after measuring"

