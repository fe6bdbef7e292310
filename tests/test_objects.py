"""Objects cut out of drawn product photos (a coloured shape on a textured background, its
true mask known): ObjectMatter + refine in both edge modes, no fringe of the old background
on white, the subject choice, and the cut-out's confidence. No evaluation data needed."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.core.errors import InputError
from app.engine.matting.segmenter import Segmenter
from app.engine.matting.stills.confidence import FLAG_BELOW, cutout_quality
from app.engine.matting.stills.fine_edges import refine, upsample_strips
from app.engine.matting.stills.objects import ObjectMatter
from app.engine.matting.stills.subject import choose_subject

MIN_IOU = 0.90  # drawn objects: the cut-out's IoU against the drawn mask, both edge modes
OBJECT = np.array([230, 120, 30], np.float32)  # orange
BACKGROUND = np.array([60, 150, 70], np.float32)  # green cloth: its fringe would show on white


def drawn_photo(w: int = 480, h: int = 360, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 photo, bool mask): an orange, slightly shaded rounded object on a textured
    green background, edges anti-aliased."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    texture = rng.normal(0, 1, (h // 8 + 1, w // 8 + 1)).astype(np.float32)
    texture = np.kron(texture, np.ones((8, 8), np.float32))[:h, :w]
    stripes = np.sin(xx / 9.0 + yy / 23.0)
    bg = BACKGROUND + (10 * texture + 12 * stripes)[..., None] * np.array([0.6, 1.0, 0.6], np.float32)
    # a superellipse (a rounded box) with 4x supersampled edges
    cx, cy, rx, ry = w * 0.5, h * 0.52, w * 0.22, h * 0.3
    sub = np.linspace(-0.375, 0.375, 4, dtype=np.float32)
    cover = np.zeros((h, w), np.float32)
    for dy in sub:
        for dx in sub:
            cover += (np.abs((xx + dx - cx) / rx) ** 4 + np.abs((yy + dy - cy) / ry) ** 4 <= 1.0)
    cover /= sub.size ** 2
    shade = (1.0 - 0.15 * (yy - cy) / ry)[..., None]
    photo = cover[..., None] * OBJECT * shade + (1 - cover[..., None]) * bg
    return np.clip(photo + 0.5, 0, 255).astype(np.uint8), cover > 0.5


def iou(alpha: np.ndarray, mask: np.ndarray) -> float:
    b = alpha > 127
    return np.count_nonzero(b & mask) / np.count_nonzero(b | mask)


@pytest.fixture(scope="module")
def matter():
    m = ObjectMatter("u2netp")
    yield m
    m.close()


@pytest.fixture(scope="module")
def photo():
    return drawn_photo()


@pytest.mark.parametrize("mode", ["fast", "matting"])
def test_drawn_object_is_cut_out(matter, photo, mode):
    image, mask = photo
    soft = matter.soft(image)
    assert soft.shape == mask.shape and soft.dtype == np.float32
    assert 0.0 <= soft.min() and soft.max() <= 1.0
    alpha, fg = refine(image, soft, mode)
    assert alpha.shape == mask.shape and alpha.dtype == np.uint8
    assert fg.shape == image.shape and fg.dtype == np.uint8
    assert iou(alpha, mask) >= MIN_IOU


@pytest.mark.parametrize("mode", ["fast", "matting"])
def test_no_fringe_of_the_old_background_on_white(matter, photo, mode):
    """On white, the partly transparent edge pixels carry the object's colour: their
    foreground colour is nearer the object's than the green background's."""
    image, _ = photo
    alpha, fg = refine(image, matter.soft(image), mode)
    edge = (alpha > 10) & (alpha < 245)
    assert np.count_nonzero(edge) > 50
    colours = fg[edge].astype(np.float32)
    to_object = np.linalg.norm(colours - OBJECT, axis=1)
    to_background = np.linalg.norm(colours - BACKGROUND, axis=1)
    assert np.mean(to_object < to_background) >= 0.9
    on_white = (fg * (alpha[..., None] / 255.0) + 255.0 * (1 - alpha[..., None] / 255.0))[edge]
    green_cast = on_white[:, 1] - (on_white[:, 0] + on_white[:, 2]) / 2  # green above red/blue
    assert np.mean(green_cast) < 5.0


def test_white_off_the_object_and_photo_inside(matter, photo):
    image, mask = photo
    alpha, fg = refine(image, matter.soft(image), "matting")
    inner = mask & (alpha == 255)
    assert np.array_equal(fg[inner], image[inner])
    far = ~np.pad(mask, 20)[:-40, :-40] & ~np.pad(mask, 20)[40:, 40:]  # well away from the object
    assert np.mean(alpha[far] == 0) > 0.98


def test_drawn_object_is_an_object_to_the_person_model(photo):
    image, _ = photo
    seg = Segmenter("general", video=False)
    try:
        subject, reason = choose_subject(seg.confidence(image))
    finally:
        seg.close()
    assert subject == "object", reason


def test_confidence_high_for_a_clean_object_and_flags_empty_or_noise(matter, photo):
    image, _ = photo
    confidence, reason = cutout_quality(matter.soft(image))
    assert confidence >= FLAG_BELOW and reason == ""
    assert confidence > 0.85
    confidence, reason = cutout_quality(np.zeros((200, 300), np.float32))
    assert confidence == 0.0 and reason == "nothing found"
    noise = np.random.default_rng(3).uniform(0, 1, (200, 300)).astype(np.float32)
    confidence, reason = cutout_quality(noise)
    assert confidence < FLAG_BELOW and reason
    noise_photo = np.random.default_rng(5).integers(0, 256, (360, 480, 3), dtype=np.uint8)
    confidence, reason = cutout_quality(matter.soft(noise_photo))
    assert confidence < FLAG_BELOW and reason
    confidence, reason = cutout_quality(matter.soft(np.full((360, 480, 3), 128, np.uint8)))
    assert confidence < FLAG_BELOW and reason


def test_confidence_is_not_zero_for_a_mostly_decided_map():
    """The old report's failure: 84% of the picture clearly decided must not read as 0."""
    soft = np.zeros((300, 400), np.float32)
    soft[60:240, 100:300] = 1.0
    soft[40:260, 80:320][soft[40:260, 80:320] == 0] = 0.5  # a wide undecided rim (~16%)
    confidence, _ = cutout_quality(soft)
    assert confidence > 0.5


def test_huge_photo_upsamples_in_strips_like_resize():
    import cv2

    noise = np.random.default_rng(0).integers(0, 256, (30, 40), dtype=np.uint8)
    src = cv2.GaussianBlur(noise, (5, 5), 0)  # an alpha map is smooth at its working size
    out = np.empty((300, 400), np.uint8)
    upsample_strips(src, (400, 300), lambda y0, y1, s: out.__setitem__(slice(y0, y1), s), rows=70)
    ref = cv2.resize(src, (400, 300), interpolation=cv2.INTER_LINEAR)
    diff = np.abs(out.astype(int) - ref)  # warpAffine places its samples in 1/32 px steps
    assert diff.max() <= 2 and diff.mean() < 0.5


def test_bad_arguments_are_refused(matter, photo):
    image, _ = photo
    with pytest.raises(InputError):
        refine(image, np.zeros(image.shape[:2], np.float32), "hairy")
    with pytest.raises(InputError):
        matter.soft(image[..., 0])
    with pytest.raises(InputError):
        ObjectMatter("general")
