"""MatteRefiner and MatteSettings on synthetic confidence maps (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.core.errors import SettingsError
from app.engine.matting.presets import MatteSettings
from app.engine.matting.refiner import MatteRefiner, confidence_lut, work_size


def ramp(w: int = 256, h: int = 32) -> np.ndarray:
    """Confidence rising from 0 at the left edge to 1 at the right."""
    return np.broadcast_to(np.linspace(0.0, 1.0, w, dtype=np.float32), (h, w)).copy()


def disc(w: int, h: int, radius: float, centre: tuple[float, float] | None = None) -> np.ndarray:
    """Confidence 1 inside a disc, 0 outside."""
    cx, cy = centre or (w / 2, h / 2)
    y, x = np.mgrid[0:h, 0:w]
    return (((x - cx) ** 2 + (y - cy) ** 2) <= radius ** 2).astype(np.float32)


def frame(w: int, h: int) -> np.ndarray:
    return np.full((h, w, 3), 100, np.uint8)


def refine(conf: np.ndarray, size: tuple[int, int] | None = None, **settings) -> np.ndarray:
    w, h = size or (conf.shape[1], conf.shape[0])
    settings.setdefault("feather", 0.0)
    return MatteRefiner(MatteSettings(**settings)).refine(conf, frame(w, h))


def person_share(alpha: np.ndarray) -> float:
    return float(np.mean(alpha >= 128))


def edge_column(alpha: np.ndarray) -> int:
    """First column of the middle row where the matte counts as person."""
    row = alpha[alpha.shape[0] // 2]
    return int(np.argmax(row >= 128))


def test_output_is_uint8_at_frame_size_from_low_res_confidence():
    conf = ramp(64, 36)
    for size in ((320, 240), (1280, 720), (17, 9)):
        alpha = refine(conf, size, feather=2.0)
        assert alpha.dtype == np.uint8
        assert alpha.shape == (size[1], size[0])


@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.75])
def test_threshold_places_the_edge(threshold):
    conf = ramp(256)
    alpha = refine(conf, threshold=threshold, softness=0.0)
    expected = threshold * 255  # column where the ramp crosses the threshold
    assert abs(edge_column(alpha) - expected) <= 2
    assert person_share(alpha) == pytest.approx(1.0 - threshold, abs=0.02)


def test_higher_threshold_moves_the_edge_towards_the_person():
    conf = ramp(256)
    low, high = (edge_column(refine(conf, threshold=t, softness=0.2)) for t in (0.3, 0.7))
    assert high - low == pytest.approx(0.4 * 255, abs=3)


def test_softness_zero_is_a_hard_cut_out():
    alpha = refine(ramp(256), threshold=0.5, softness=0.0)
    assert set(np.unique(alpha)) == {0, 255}


def test_softness_gives_a_ramp_of_the_requested_width():
    alpha = refine(ramp(256), threshold=0.5, softness=0.4)
    row = alpha[alpha.shape[0] // 2].astype(int)
    partial = np.flatnonzero((row > 0) & (row < 255))
    # confidence 0.3 .. 0.7 is the soft band: 40% of the 256 columns
    assert len(partial) == pytest.approx(0.4 * 256, abs=4)
    assert np.all(np.diff(row) >= 0), "the matte must rise monotonically with confidence"


def test_invert_flips_the_matte():
    conf = ramp(256)
    plain = refine(conf, softness=0.3).astype(int)
    inverted = refine(conf, softness=0.3, invert=True).astype(int)
    assert np.abs(plain + inverted - 255).max() <= 1
    assert plain[:, 0].max() == 0 and inverted[:, 0].min() == 255


def test_grow_enlarges_and_negative_grow_shrinks_the_person():
    conf = disc(200, 200, 50)
    base = person_share(refine(conf))
    grown = person_share(refine(conf, grow=8))
    shrunk = person_share(refine(conf, grow=-8))
    assert shrunk < base < grown
    # area of a disc of radius 50 +- 8 over the 200x200 frame
    assert grown == pytest.approx(np.pi * 58 ** 2 / 200 ** 2, rel=0.06)
    assert shrunk == pytest.approx(np.pi * 42 ** 2 / 200 ** 2, rel=0.06)


def test_grow_is_in_frame_pixels_above_the_work_resolution():
    """A 1280-wide frame is refined at 640 wide; --grow 20 must still mean 20 frame pixels."""
    w, h = 1280, 720
    conf = disc(w, h, 200)
    alpha = refine(conf, (w, h), grow=20)
    row = alpha[h // 2] >= 128
    radius = (np.flatnonzero(row)[-1] - np.flatnonzero(row)[0] + 1) / 2
    assert radius == pytest.approx(220, abs=4)


def test_feather_softens_the_edge():
    conf = disc(200, 200, 50)
    hard = refine(conf, feather=0)
    soft = refine(conf, feather=8)
    n_hard = np.count_nonzero((hard > 0) & (hard < 255))
    n_soft = np.count_nonzero((soft > 0) & (soft < 255))
    assert n_hard == 0
    assert n_soft > 500
    # feathering blurs the edge but does not move it much
    assert person_share(soft) == pytest.approx(person_share(hard), rel=0.08)


def test_lut_is_monotonic_and_spans_the_range():
    lut = confidence_lut(MatteSettings(threshold=0.4, softness=0.5))
    assert lut.dtype == np.uint8 and lut.shape == (256,)
    assert lut[0] == 0 and lut[255] == 255
    assert np.all(np.diff(lut.astype(int)) >= 0)


def test_work_size_keeps_aspect_and_caps_width():
    assert work_size((320, 240)) == (320, 240)
    assert work_size((1920, 1080)) == (640, 360)


@pytest.mark.parametrize("kwargs", [
    {"threshold": -0.1}, {"threshold": 1.5}, {"softness": -0.01}, {"softness": 1.2}, {"feather": -1},
])
def test_invalid_settings_raise_settings_error(kwargs):
    with pytest.raises(SettingsError) as info:
        MatteSettings(**kwargs)
    assert next(iter(kwargs)) in str(info.value)


def test_settings_error_is_a_value_error():
    with pytest.raises(ValueError):
        MatteSettings(threshold=2)
