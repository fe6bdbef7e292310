"""The CPU compositor and every kind of background that parse_background makes."""

from __future__ import annotations

import threading
from pathlib import Path

from support import media
import numpy as np
import pytest

from app.engine.backgrounds.base import (
    BlurBackground,
    ColourBackground,
    TransparentBackground,
    parse_colour,
)
from app.engine.backgrounds.image import ImageBackground
from app.engine.backgrounds.spec import parse_background
from app.engine.backgrounds.video import VideoBackground
from app.engine.compositing.base import blend, composite, with_alpha
from app.engine.core.errors import InputError, SettingsError
from app.engine.imaging.images import fit_image

RNG = np.random.default_rng(1234)


def random_image(h: int = 48, w: int = 64, channels: int = 3) -> np.ndarray:
    shape = (h, w, channels) if channels else (h, w)
    return RNG.integers(0, 256, shape, dtype=np.uint8)


# -- blend / composite --------------------------------------------------------------------
def test_blend_matches_the_float_formula_within_one_level():
    fg, bg, alpha = random_image(), random_image(), random_image(channels=0)
    # include the extremes explicitly
    alpha[0, :8] = 0
    alpha[1, :8] = 255
    out = blend(fg, bg, alpha)
    a = alpha.astype(np.float64)[..., None] / 255.0
    expected = fg * a + bg * (1.0 - a)
    assert out.dtype == np.uint8 and out.shape == fg.shape
    assert np.abs(out.astype(np.float64) - expected).max() <= 1.0
    assert np.array_equal(out[0, :8], bg[0, :8])
    assert np.array_equal(out[1, :8], fg[1, :8])


def test_composite_without_background_is_rgba_with_the_matte_as_alpha():
    fg, alpha = random_image(), random_image(channels=0)
    out = composite(fg, alpha, None)
    assert out.shape == (48, 64, 4) and out.dtype == np.uint8
    assert np.array_equal(out[..., :3], fg)
    assert np.array_equal(out[..., 3], alpha)
    assert np.array_equal(with_alpha(fg, alpha), out)


def test_composite_rejects_a_matte_of_another_size():
    with pytest.raises(ValueError):
        composite(random_image(), random_image(24, 32, 0), random_image())


# -- colours ------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, rgb", [
    ("white", (255, 255, 255)), ("#FF8000", (255, 128, 0)), ("#0a141e", (10, 20, 30)), ("00ff00", (0, 255, 0)),
])
def test_colour_background(spec, rgb):
    bg = parse_background(spec)
    assert isinstance(bg, ColourBackground)
    out = bg.render(random_image(), 0.0)
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    assert np.all(out == np.array(rgb, np.uint8))
    # composite over it: where alpha is 0 the colour shows, where 255 the person
    fg = random_image()
    alpha = np.zeros((48, 64), np.uint8)
    alpha[:, 32:] = 255
    result = composite(fg, alpha, out)
    assert np.all(result[:, :32] == np.array(rgb, np.uint8))
    assert np.array_equal(result[:, 32:], fg[:, 32:])


def test_colour_background_follows_the_frame_size():
    bg = parse_background("black")
    assert bg.render(random_image(48, 64), 0).shape == (48, 64, 3)
    assert bg.render(random_image(30, 40), 0).shape == (30, 40, 3)


def test_parse_colour_rejects_non_colours():
    assert parse_colour("#12345") is None
    assert parse_colour("purplish") is None


# -- blur ---------------------------------------------------------------------------------
def test_blur_background_is_a_smooth_copy_of_the_frame():
    img = media.portrait((320, 240))
    bg = parse_background("blur")
    assert isinstance(bg, BlurBackground)
    out = bg.render(img, 0.0)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert not np.array_equal(out, img)

    def roughness(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a.astype(np.int16), axis=1)).mean())

    assert roughness(out) < 0.5 * roughness(img)
    # same picture, only softer: the mean colour barely moves
    assert np.abs(out.mean(axis=(0, 1)) - img.mean(axis=(0, 1))).max() < 4


def test_blur_strength_is_parsed_and_stronger_is_smoother():
    img = media.portrait((320, 240))
    weak, strong = parse_background("blur:4"), parse_background("blur:60")
    assert weak.strength == 4 and strong.strength == 60
    d_weak = np.abs(weak.render(img, 0).astype(int) - img).mean()
    d_strong = np.abs(strong.render(img, 0).astype(int) - img).mean()
    assert d_strong > d_weak


@pytest.mark.parametrize("spec", ["blur:0", "blur:-3", "blur:abc", "nonsense-spec", "#12"])
def test_bad_background_spec_is_a_settings_error(spec):
    with pytest.raises(SettingsError) as info:
        parse_background(spec)
    assert spec in str(info.value) or "blur strength" in str(info.value)


# -- transparent --------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["transparent", "none"])
def test_transparent_background_renders_none(spec):
    bg = parse_background(spec)
    assert isinstance(bg, TransparentBackground)
    assert bg.render(random_image(), 0.0) is None


# -- photos -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A 200x100 photo: left half red, right half blue."""
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, :100] = (255, 0, 0)
    img[:, 100:] = (0, 0, 255)
    return media.write_image(tmp_path_factory.mktemp("photo") / "wide.png", img)


def test_fit_image_sizes():
    img = np.full((100, 200, 3), 200, np.uint8)
    for fit in ("cover", "contain", "stretch"):
        for size in ((64, 64), (320, 240), (30, 90)):
            out = fit_image(img, size, fit)
            assert out.shape == (size[1], size[0], 3), (fit, size)


def test_fit_contain_letterboxes_in_black():
    img = np.full((100, 200, 3), 200, np.uint8)  # 2:1 into a square: bars above and below
    out = fit_image(img, (100, 100), "contain")
    assert np.all(out[:24] == 0) and np.all(out[-24:] == 0)
    assert np.all(out[26:74] == 200)
    tall = fit_image(np.full((200, 100, 3), 200, np.uint8), (100, 100), "contain")
    assert np.all(tall[:, :24] == 0) and np.all(tall[:, -24:] == 0)


def test_photo_background_cover_crops_the_middle(photo):
    bg = parse_background(str(photo), "cover")
    assert isinstance(bg, ImageBackground)
    out = bg.render(np.zeros((100, 100, 3), np.uint8), 0.0)  # middle 100 columns of 200
    assert out.shape == (100, 100, 3)
    assert np.all(out[:, :45] == (255, 0, 0)) and np.all(out[:, 55:] == (0, 0, 255))
    assert not np.any(np.all(out == 0, axis=2)), "cover leaves no black bars"


def test_photo_background_contain_has_black_bars(photo):
    out = parse_background(str(photo), "contain").render(np.zeros((100, 100, 3), np.uint8), 0.0)
    assert np.all(out[:20] == 0) and np.all(out[-20:] == 0)
    assert np.all(out[30:70, :45] == (255, 0, 0)) and np.all(out[30:70, 55:] == (0, 0, 255))


def test_photo_background_stretch_keeps_both_halves(photo):
    out = parse_background(str(photo), "stretch").render(np.zeros((100, 50, 3), np.uint8), 0.0)
    assert out.shape == (100, 50, 3)
    assert np.all(out[:, :23] == (255, 0, 0)) and np.all(out[:, 27:] == (0, 0, 255))


def test_photo_background_refits_when_the_frame_size_changes(photo):
    bg = parse_background(str(photo), "cover")
    assert bg.render(np.zeros((100, 100, 3), np.uint8), 0).shape == (100, 100, 3)
    assert bg.render(np.zeros((60, 80, 3), np.uint8), 0).shape == (60, 80, 3)


def test_corrupt_photo_is_an_input_error_naming_it(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"not a jpeg at all" * 10)
    with pytest.raises(InputError) as info:
        parse_background(str(bad))
    assert str(bad) in str(info.value)


def test_missing_photo_is_an_input_error_naming_it(tmp_path):
    with pytest.raises(InputError) as info:
        parse_background(str(tmp_path / "nowhere.jpg"))
    assert "nowhere.jpg" in str(info.value)


def test_unsupported_background_file_is_an_input_error(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(InputError) as info:
        parse_background(str(notes))
    assert str(notes) in str(info.value)


def test_bad_fit_is_a_settings_error(photo):
    with pytest.raises(SettingsError):
        ImageBackground(photo, "zoom")


# -- looping video ------------------------------------------------------------------------
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]  # 10 fps: 0.5 s


@pytest.fixture(scope="module")
def solid_clip(tmp_path_factory) -> Path:
    return media.make_solid_clip(tmp_path_factory.mktemp("bgvideo") / "solid.mp4", COLOURS, fps=10)


def colour_index(image: np.ndarray) -> int:
    """Which of COLOURS `image` shows (nearest to its centre pixel)."""
    px = image[image.shape[0] // 2, image.shape[1] // 2].astype(int)
    d = [np.abs(px - np.array(c)).sum() for c in COLOURS]
    assert min(d) < 40, f"unexpected colour {px}"
    return int(np.argmin(d))


def render_sequence(path: Path, times: list[float], size=(64, 48)) -> list[int]:
    bg = parse_background(str(path), "cover")
    assert isinstance(bg, VideoBackground)
    try:
        frame = np.zeros((size[1], size[0], 3), np.uint8)
        out = []
        for t in times:
            img = bg.render(frame, t)
            assert img.shape == frame.shape
            out.append(colour_index(img))
        return out
    finally:
        bg.close()


def test_video_background_advances_with_time(solid_clip):
    assert render_sequence(solid_clip, [0.0, 0.1, 0.2, 0.3, 0.4]) == [0, 1, 2, 3, 4]


def test_video_background_loops(solid_clip):
    """At t and t + 0.5 s (the clip's length) the same picture shows, over several loops."""
    times = [0.0, 0.2, 0.4, 0.5, 0.7, 0.9, 1.0, 1.2, 1.4, 1.6]
    assert render_sequence(solid_clip, times) == [0, 2, 4, 0, 2, 4, 0, 2, 4, 1]


def test_video_background_between_frames_shows_the_current_picture(solid_clip):
    """Half-way between two background frames the earlier one is due (frame 0 covers
    0.0 <= t < 0.1), not the next one."""
    assert render_sequence(solid_clip, [0.0, 0.05, 0.15, 0.25, 0.95]) == [0, 0, 1, 2, 4]


def test_video_background_scales_to_the_frame(solid_clip):
    bg = parse_background(str(solid_clip), "contain")
    try:
        out = bg.render(np.zeros((120, 64, 3), np.uint8), 0.0)  # tall frame: bars above/below
        assert out.shape == (120, 64, 3)
        assert np.all(out[:30] == 0) and np.all(out[-30:] == 0)
        assert colour_index(out) == 0
    finally:
        bg.close()


def test_video_background_close_stops_its_thread(solid_clip):
    bg = parse_background(str(solid_clip))
    bg.render(np.zeros((48, 64, 3), np.uint8), 0.0)
    assert any(t.name == "backdrop-bg-video" for t in threading.enumerate())
    bg.close()
    bg.close()  # twice is fine
    assert not any(t.name == "backdrop-bg-video" and t.is_alive() for t in threading.enumerate())


def test_corrupt_background_video_is_an_input_error_naming_it(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00garbage" * 100)
    with pytest.raises(InputError) as info:
        parse_background(str(bad))
    assert str(bad) in str(info.value)
