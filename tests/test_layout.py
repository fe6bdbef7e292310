"""Catalogue layout: white exactly 255 off the subject, trim to the subject's box, a canvas
and margin that put the subject where they say, bottom alignment, and a contact shadow only
under the subject."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.engine.core.errors import SettingsError
from app.engine.files.layout import Layout, encode_params, place, subject_box

WHITE = (255, 255, 255)


def _cutout(h: int = 240, w: int = 320) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """A red box with soft sides on a green old background (the colour under alpha 0 is
    the old room's): foreground, alpha and the box (x0, y0, x1, y1)."""
    fg = np.zeros((h, w, 3), np.uint8)
    fg[:] = (0, 180, 0)
    alpha = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = 100, 60, 180, 200
    alpha[y0:y1, x0:x1] = 255
    alpha[y0:y1, x0 - 2:x0] = 128  # a soft left edge
    fg[y0:y1, x0 - 2:x1] = (200, 30, 30)
    return fg, alpha, (x0 - 2, y0, x1, y1)


def _box_of(image: np.ndarray, background: tuple[int, int, int]) -> tuple[int, int, int, int]:
    differs = np.any(image != np.asarray(background, np.uint8), axis=2).astype(np.uint8)
    x, y, w, h = cv2.boundingRect(differs)
    return x, y, x + w, y + h


def test_white_is_exactly_255_off_the_subject():
    fg, alpha, _ = _cutout()
    out = place(fg, alpha, Layout(), WHITE)
    assert out.shape == (240, 320, 3) and out.dtype == np.uint8
    assert np.all(out[alpha == 0] == 255)  # no trace of the green room
    assert np.array_equal(out[alpha == 255], fg[alpha == 255])
    edge = out[alpha == 128]
    assert np.all(np.abs(edge.astype(int) - (228, 143, 143)) <= 1)  # half red, half white


def test_transparent_stays_transparent_and_keeps_the_subject_exact():
    fg, alpha, _ = _cutout()
    out = place(fg, alpha, Layout(), None)
    assert out.shape == (240, 320, 4)
    assert np.array_equal(out[..., 3], alpha)
    assert np.all(out[alpha == 0] == 0) and np.array_equal(out[alpha > 0][:, :3], fg[alpha > 0])


def test_trim_crops_to_the_subject():
    fg, alpha, (x0, y0, x1, y1) = _cutout()
    assert subject_box(alpha) == (x0, y0, x1, y1)
    out = place(fg, alpha, Layout(trim=True), WHITE)
    assert out.shape == (y1 - y0, x1 - x0, 3)
    assert np.array_equal(out[:, 2:], np.broadcast_to(np.uint8([200, 30, 30]), out[:, 2:].shape))
    padded = place(fg, alpha, Layout(trim=True, margin=10), WHITE)  # 10% of the box's long side: 14
    assert padded.shape == (y1 - y0 + 28, x1 - x0 + 28, 3)
    assert _box_of(padded, WHITE) == (14, 14, 14 + x1 - x0, 14 + y1 - y0)


@pytest.mark.parametrize("background", [WHITE, None])
def test_canvas_and_margin_put_the_subject_inside_the_margin(background):
    fg, alpha, (x0, y0, x1, y1) = _cutout()
    out = place(fg, alpha, Layout(canvas=(1000, 800), margin=5), background)  # margin 40 px
    assert out.shape[:2] == (800, 1000)
    if background is None:
        box = subject_box(out[..., 3], 0)
    else:
        box = _box_of(out, background)
    bw, bh = box[2] - box[0], box[3] - box[1]
    assert bh == 720  # tall subject: fills the height less 40 px above and below
    assert box[1] == 40 and box[3] == 760
    assert abs(bw - round(720 * (x1 - x0) / (y1 - y0))) <= 1
    assert abs((box[0] + box[2]) / 2 - 500) <= 1  # centred across
    if background is not None:
        assert np.all(out[:40] == 255) and np.all(out[760:] == 255)


def test_align_bottom_puts_the_lowest_pixel_on_the_bottom_margin():
    fg, alpha, _ = _cutout()
    wide = Layout(canvas=(600, 2000), margin=10, align="bottom")  # margin 60 px; subject 560 wide
    out = place(fg, alpha, wide, WHITE)
    box = _box_of(out, WHITE)
    assert box[3] == 2000 - 60 and box[0] == 60 and box[2] == 540
    centred = _box_of(place(fg, alpha, Layout(canvas=(600, 2000), margin=10), WHITE), WHITE)
    assert centred[3] < 1940 and abs((centred[1] + centred[3]) / 2 - 1000) <= 1


def test_the_shadow_lies_under_the_subject_only_and_is_darker_than_white():
    fg, alpha, (x0, y0, x1, y1) = _cutout()
    plain = place(fg, alpha, Layout(canvas=(400, 400), margin=10, align="bottom"), WHITE)
    shaded = place(fg, alpha, Layout(canvas=(400, 400), margin=10, align="bottom", shadow=True), WHITE)
    sx0, sy0, sx1, sy1 = _box_of(plain, WHITE)
    changed = np.any(shaded != plain, axis=2)
    ys, xs = np.nonzero(changed)
    assert ys.size > 0
    assert ys.min() >= sy1 - 0.2 * (sy1 - sy0)  # at the subject's foot, not beside its top
    assert ys.max() > sy1 + 5  # and below it
    reach = 0.25 * (sx1 - sx0)
    assert xs.min() >= sx0 - reach and xs.max() <= sx1 + reach  # about its footprint's width
    below = shaded[sy1:sy1 + 5, (sx0 + sx1) // 2]
    assert below.max() < 230 and np.all(below[:, 0] == below[:, 1])  # dark grey, not tinted
    assert np.all(shaded[:sy0 - 1] == 255) and np.all(shaded[:, : round(sx0 - reach)] == 255)
    assert np.array_equal(shaded[alpha_placed(shaded, plain)], plain[alpha_placed(shaded, plain)])


def alpha_placed(shaded: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """The pixels fully of the subject (red) in `plain`: the shadow is under them, unseen."""
    return np.all(plain == (200, 30, 30), axis=2)


def test_shadow_on_transparent_is_partial_black_alpha():
    fg, alpha, _ = _cutout()
    out = place(fg, alpha, Layout(trim=True, shadow=True), None)
    assert out.shape[0] > 140  # room made below the subject for its shadow
    below = out[141:, :]
    assert below[..., 3].max() > 40 and below[..., 3].max() < 255
    assert np.all(below[..., :3] == 0)


def test_bad_layouts_and_jpeg_quality_are_settings_errors(tmp_path):
    with pytest.raises(SettingsError):
        Layout(align="top")
    with pytest.raises(SettingsError):
        Layout(margin=50)
    with pytest.raises(SettingsError):
        encode_params(".jpg", 0)
    fg, alpha, _ = _cutout()
    out = cv2.cvtColor(place(fg, alpha, Layout(canvas=(256, 256), margin=5), WHITE), cv2.COLOR_RGB2BGR)
    sizes = {}
    for q in (60, 95):
        ok, data = cv2.imencode(".jpg", out, encode_params(".JPG", q))
        assert ok
        sizes[q] = data.size
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
        assert np.all(decoded[:8, :8] == 255)  # a flat white block decodes exactly white
    assert sizes[60] < sizes[95]


@pytest.mark.parametrize("background", [WHITE, None])
def test_scaling_brings_no_colour_of_the_old_background_into_the_edge(background):
    alpha = np.zeros((240, 320), np.uint8)
    cv2.circle(alpha, (160, 120), 70, 255, -1, cv2.LINE_AA)  # soft rim; the box's corners are room
    fg = np.zeros((240, 320, 3), np.uint8)
    fg[:] = (0, 255, 0)  # a bright green room
    fg[alpha > 0] = (200, 30, 30)  # the rim carries the object's colour (foreground estimated)
    for canvas in ((50, 50), (900, 900)):  # shrunk and enlarged
        out = place(fg, alpha, Layout(canvas=canvas, margin=3), background)
        rgb = out[..., :3].astype(int)
        if background is None:
            rgb = rgb[out[..., 3] > 0]
        greenish = (rgb[..., 1] > rgb[..., 0] + 10) & (rgb[..., 1] > rgb[..., 2] + 10)
        assert not greenish.any()
