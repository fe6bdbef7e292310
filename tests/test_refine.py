"""The matte's refinement mechanisms on synthetic pictures (no model, no evaluation data):
temporal stability, following motion, cut detection, edges that sit on the picture's edges,
and the controls (invert, grow, shrink, presets)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.engine.core.errors import SettingsError
from app.engine.matting.edges import GuidedEdges
from app.engine.matting.presets import MatteSettings, choose_model
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.temporal import TemporalParams, TemporalStabiliser

W, H = 320, 240  # frames; the synthetic "model" map is half that, as a real one is smaller


def background(seed: int, level: int = 90) -> np.ndarray:
    """A static textured room (smooth random blotches around `level`)."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), 3)
    grey = np.clip(level + noise * 40 / max(float(noise.std()), 1e-6), 0, 255).astype(np.uint8)
    return cv2.merge((grey, grey, grey))


def disc_mask(cx: float, cy: float, r: float) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    return ((x - cx) ** 2 + (y - cy) ** 2) <= r * r


def scene(room: np.ndarray, mask: np.ndarray, noise: np.random.Generator | None = None) -> np.ndarray:
    """The room with a bright person-shaped disc in front, slightly soft like a lens, plus
    sensor noise if a generator is given."""
    frame = room.copy()
    frame[mask] = (210, 180, 160)
    frame = cv2.GaussianBlur(frame, (0, 0), 0.8)
    if noise is not None:
        frame = np.clip(frame + noise.normal(0, 1.5, frame.shape), 0, 255).astype(np.uint8)
    return frame


def model_map(mask: np.ndarray, rng: np.random.Generator | None = None, jitter: float = 0.0) -> np.ndarray:
    """What a low-resolution model gives: the mask at half size, blurred, as float 0..1, with
    optional wobble (the edge breathing by +-jitter px, plus per-pixel noise)."""
    small = cv2.resize(mask.astype(np.float32), (W // 2, H // 2), interpolation=cv2.INTER_AREA)
    if rng is not None and jitter:
        small = cv2.GaussianBlur(small, (0, 0), 1.5 + rng.uniform(-jitter, jitter) / 2)
        small = small + rng.normal(0, 0.04, small.shape).astype(np.float32)
    else:
        small = cv2.GaussianBlur(small, (0, 0), 1.5)
    return np.clip(small, 0, 1).astype(np.float32)


def iou(alpha: np.ndarray, mask: np.ndarray) -> float:
    b = alpha >= 128
    return np.count_nonzero(b & mask) / max(1, np.count_nonzero(b | mask))


def edge_band(mask: np.ndarray, px: int) -> np.ndarray:
    m = mask.astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return (cv2.dilate(m, k) - cv2.erode(m, k)).astype(bool)


def wobble(alphas: list[np.ndarray], band: np.ndarray) -> float:
    """Mean frame-to-frame change of alpha (0..1) inside `band`."""
    diffs = [np.abs(a.astype(np.float32) - b.astype(np.float32))[band].mean() / 255
             for a, b in zip(alphas[1:], alphas[:-1])]
    return float(np.mean(diffs))


# -- temporal stabiliser -------------------------------------------------------------------------
def test_still_scene_with_a_jittering_model_comes_out_steady():
    rng = np.random.default_rng(1)
    room, mask = background(0), disc_mask(160, 130, 60)
    frames = [scene(room, mask, rng) for _ in range(40)]
    maps = [model_map(mask, rng, jitter=2.0) for _ in range(40)]
    steady, plain = MatteRefiner(MatteSettings()), MatteRefiner(MatteSettings(smoothing=0))
    ours = [steady.refine(c, f) for c, f in zip(maps, frames)]
    raw = [plain.refine(c, f) for c, f in zip(maps, frames)]
    band = edge_band(mask, 6)
    assert wobble(ours[5:], band) < 0.25 * wobble(raw[5:], band)
    assert all(iou(a, mask) > 0.95 for a in ours)  # steady, and still right


def test_a_shape_that_jumps_is_followed_in_the_same_frame_without_a_ghost():
    rng = np.random.default_rng(2)
    room = background(3)
    before, after = disc_mask(110, 120, 50), disc_mask(210, 120, 50)
    refiner = MatteRefiner(MatteSettings())
    for _ in range(15):
        refiner.refine(model_map(before, rng, 1.0), scene(room, before, rng))
    alpha = refiner.refine(model_map(after, rng, 1.0), scene(room, after, rng))
    assert iou(alpha, after) > 0.95
    left_behind = before & ~edge_band(after, 4) & ~after
    assert alpha[left_behind].max() < 32, "a ghost of the old position trails the shape"


def test_a_camera_pan_is_followed_without_lag():
    rng = np.random.default_rng(4)
    wide_room = cv2.resize(background(5), (W + 80, H))
    refiner = MatteRefiner(MatteSettings())
    for step in range(12):
        room = np.ascontiguousarray(wide_room[:, 4 * step:4 * step + W])
        mask = disc_mask(170 - 4 * step, 120, 55)  # the person stands still; the camera pans
        alpha = refiner.refine(model_map(mask, rng, 1.0), scene(room, mask, rng))
        assert iou(alpha, mask) > 0.95, f"frame {step}"


def test_a_cut_resets_the_stabiliser():
    rng = np.random.default_rng(6)
    mask_a, mask_b = disc_mask(100, 120, 60), disc_mask(230, 100, 45)
    room_a, room_b = background(7, level=70), background(8, level=170)
    settings = MatteSettings()
    refiner = MatteRefiner(settings)
    for _ in range(10):
        refiner.refine(model_map(mask_a, rng, 1.0), scene(room_a, mask_a, rng))
    conf_b, frame_b = model_map(mask_b, rng, 1.0), scene(room_b, mask_b, rng)
    alpha = refiner.refine(conf_b, frame_b)
    assert np.array_equal(alpha, MatteRefiner(settings).refine(conf_b, frame_b))
    stabiliser = next(s for s in refiner.stages if isinstance(s, TemporalStabiliser))
    assert stabiliser.cuts == 1


def test_reset_and_a_new_frame_size_forget_the_state():
    rng = np.random.default_rng(9)
    room, mask = background(10), disc_mask(160, 120, 60)
    settings = MatteSettings()
    refiner = MatteRefiner(settings)
    for _ in range(5):
        refiner.refine(model_map(mask, rng, 2.0), scene(room, mask, rng))
    conf, frame = model_map(mask, rng, 2.0), scene(room, mask, rng)
    refiner.reset()
    assert np.array_equal(refiner.refine(conf, frame), MatteRefiner(settings).refine(conf, frame))
    bigger = cv2.resize(frame, (W * 2, H * 2))
    assert np.array_equal(refiner.refine(conf, bigger), MatteRefiner(settings).refine(conf, bigger))


def test_one_frame_alone_is_not_changed_by_smoothing():
    """A photo gets a fresh refiner: the stabiliser must be a no-op on its only frame."""
    rng = np.random.default_rng(11)
    mask = disc_mask(150, 110, 70)
    conf, frame = model_map(mask, rng, 2.0), scene(background(12), mask, rng)
    on = MatteRefiner(MatteSettings(smoothing=1.0)).refine(conf, frame)
    off = MatteRefiner(MatteSettings(smoothing=0.0)).refine(conf, frame)
    assert np.array_equal(on, off)


def test_hysteresis_holds_a_still_pixel_on_its_side_of_the_threshold():
    """A still pixel whose confidence wanders inside the deadband around the threshold
    never crosses it; a change larger than the deadband gets through."""
    params = TemporalParams(still_weight=0.2, deadband=20)
    stage = TemporalStabiliser(params)
    guide = np.full((60, 80), 120, np.uint8)
    first = stage.process(np.full((60, 80), 135, np.uint8), guide)  # just above 127.5
    assert first.min() == 135
    rng = np.random.default_rng(13)
    for _ in range(30):
        conf = (135 + rng.integers(-19, 20, (60, 80))).astype(np.uint8)  # crosses 128 often
        out = stage.process(conf, guide)
        assert out.min() >= 128
    out = stage.process(np.full((60, 80), 60, np.uint8), guide)
    assert out.max() < 135, "a large change must move the held value"


# -- edges -----------------------------------------------------------------------------------------
FW, FH = 1280, 720  # a full-size frame: refined at 640x360, then upsampled


def step_scene(edge_x: int, model_edge_x: float) -> tuple[np.ndarray, np.ndarray]:
    """A 1280x720 frame: a dark room left of `edge_x`, a bright person right of it
    (lens-soft), and a 320x180 model map whose soft edge is centred at `model_edge_x`
    (frame pixels) instead: a low-resolution guess."""
    frame = np.full((FH, FW, 3), 40, np.uint8)
    frame[:, edge_x:] = 200
    frame = cv2.GaussianBlur(frame, (0, 0), 1.5)
    x = (np.arange(FW // 4, dtype=np.float32) + 0.5) * 4  # frame x of each map column
    ramp = 1 / (1 + np.exp(-(x - model_edge_x) / 5.0))
    return frame, np.tile(ramp.astype(np.float32), (FH // 4, 1))


def crossing(alpha: np.ndarray) -> float:
    """Column where the middle row's alpha crosses 127.5 (linear interpolation)."""
    row = alpha[alpha.shape[0] // 2].astype(np.float32)
    i = int(np.argmax(row >= 127.5))
    return i - 1 + (127.5 - row[i - 1]) / (row[i] - row[i - 1])


@pytest.mark.parametrize("model_edge", [395.0, 403.0])
def test_a_refined_edge_sits_on_the_pictures_edge(model_edge):
    """The model's edge is off the picture's by about one map pixel (4 px); refinement puts
    it back onto the picture's edge, sharper, with nothing of the room around it."""
    frame, conf = step_scene(400, model_edge)
    settings = MatteSettings(softness=0.3)  # the soft band's width scales with softness
    unrefined = MatteRefiner(settings, stages=[]).refine(conf, frame)
    refined = MatteRefiner(settings).refine(conf, frame)
    before = abs(crossing(unrefined) - 399.5)  # the picture's edge lies between 399 and 400
    after = abs(crossing(refined) - 399.5)
    assert before > 3.0  # the test's premise
    assert after < 2.0 and after < before / 2
    row, plain = refined[FH // 2].astype(int), unrefined[FH // 2].astype(int)
    soft = np.flatnonzero((row > 5) & (row < 250))
    assert 2 <= len(soft) <= 8, "a soft band a few pixels wide, not a hard step or a smear"
    assert len(soft) < np.count_nonzero((plain > 5) & (plain < 250)), "sharper than the model's"
    assert row[:390].max() <= 5, "no halo of the room outside the person"
    assert row[410:].min() >= 250


def test_guided_edges_leave_flat_pictures_and_flat_confidence_alone():
    stage = GuidedEdges()
    conf = (np.linspace(0, 255, W, dtype=np.float32)[None, :].repeat(H, 0)).astype(np.uint8)
    flat_picture = np.full((H, W), 90, np.uint8)
    assert np.array_equal(stage.process(conf, flat_picture), conf)
    flat_conf = np.full((H, W), 255, np.uint8)
    textured = cv2.cvtColor(background(14), cv2.COLOR_RGB2GRAY)
    assert np.array_equal(stage.process(flat_conf, textured), flat_conf)


# -- controls --------------------------------------------------------------------------------------
def one_matte(**settings) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(15)
    mask = disc_mask(160, 120, 60)
    conf, frame = model_map(mask), scene(background(16), mask, rng)
    return MatteRefiner(MatteSettings(**settings)).refine(conf, frame), mask


def test_invert_swaps_person_and_background():
    plain, mask = one_matte()
    inverted, _ = one_matte(invert=True)
    assert np.abs(plain.astype(int) + inverted.astype(int) - 255).max() <= 1
    assert iou(inverted, ~mask) > 0.95


@pytest.mark.parametrize("grow", [8, -8])
def test_grow_and_shrink_move_the_edge_by_that_many_pixels(grow):
    base, _ = one_matte()
    changed, _ = one_matte(grow=grow)
    r_base = np.sqrt(np.count_nonzero(base >= 128) / np.pi)
    r_changed = np.sqrt(np.count_nonzero(changed >= 128) / np.pi)
    assert r_changed - r_base == pytest.approx(grow, abs=1.0)


def test_threshold_moves_the_edge_towards_the_person():
    low, mask = one_matte(threshold=0.3)
    high, _ = one_matte(threshold=0.7)
    assert np.count_nonzero(high >= 128) < np.count_nonzero(low >= 128)


def test_presets_pick_the_model_by_frame_shape_and_refine_at_their_size():
    assert choose_model("auto", (1280, 720)) == "landscape"
    assert choose_model("auto", (640, 480)) == "general"  # 4:3 is as near 1:1 as 16:9
    assert choose_model("auto", (720, 1280)) == "general"
    assert MatteSettings(preset="fast").model_for((640, 480)) == "landscape"
    assert MatteSettings().model_for((1920, 1080)) == "landscape"
    rng = np.random.default_rng(17)
    mask = disc_mask(160, 120, 60)
    conf, frame = model_map(mask), scene(background(18), mask, rng)
    for preset in ("fast", "balanced", "quality"):
        alpha = MatteRefiner(MatteSettings(preset=preset)).refine(conf, cv2.resize(frame, (1280, 960)))
        assert alpha.shape == (960, 1280) and alpha.dtype == np.uint8
        assert iou(alpha, cv2.resize(mask.astype(np.uint8), (1280, 960)) > 0) > 0.95


def test_changing_smoothing_or_preset_rebuilds_the_stages():
    settings = MatteSettings()
    refiner = MatteRefiner(settings)
    rng = np.random.default_rng(19)
    mask = disc_mask(160, 120, 60)
    refiner.refine(model_map(mask), scene(background(20), mask, rng))
    assert any(isinstance(s, TemporalStabiliser) for s in refiner.stages)
    settings.smoothing = 0.0
    refiner.refine(model_map(mask), scene(background(20), mask, rng))
    assert not any(isinstance(s, TemporalStabiliser) for s in refiner.stages)


@pytest.mark.parametrize("kwargs", [{"smoothing": -0.1}, {"smoothing": 1.5}, {"preset": "ultra"}])
def test_invalid_new_settings_raise_settings_error(kwargs):
    with pytest.raises(SettingsError) as info:
        MatteSettings(**kwargs)
    assert next(iter(kwargs)) in str(info.value)


@pytest.mark.parametrize("preset", ["fast", "balanced", "quality"])
def test_tiny_and_odd_sizes_work_frame_after_frame(preset):
    rng = np.random.default_rng(21)
    for w, h in [(1, 1), (5, 4), (17, 9), (40, 30), (3000, 200), (33, 500)]:
        refiner = MatteRefiner(MatteSettings(preset=preset))
        for _ in range(3):
            frame = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            conf = rng.random((max(1, h // 2), max(1, w // 2))).astype(np.float32)
            alpha = refiner.refine(conf, frame)
            assert alpha.shape == (h, w) and alpha.dtype == np.uint8
