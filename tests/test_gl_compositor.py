"""The GL compositor gives the CPU reference's picture, for every kind of background, with
and without the effects, on headless EGL.

Tolerances (0..255 levels; measured on Mesa 22.3 llvmpipe: mean <= 0.3, max <= 7):
- RGB outputs: mean absolute difference <= 0.5, max <= 8;
- transparent (RGBA): alpha max <= 1, colour premultiplied by alpha max <= 2 (colour under
  alpha 0 is invisible and not compared).
"""

from __future__ import annotations

from support import media
import numpy as np
import pytest

from app.engine.backgrounds.spec import parse_background
from app.engine.compositing.cpu import CpuCompositor
from app.engine.compositing.effects import CompositeSettings
from app.engine.gl import context
from app.engine.matting.presets import MatteSettings
from app.engine.matting.refiner import MatteRefiner

MEAN_TOL, MAX_TOL = 0.5, 8
SETTINGS = {"plain": CompositeSettings(), "natural": CompositeSettings.natural(),
            "feather": CompositeSettings(feather=4.0, light_wrap=0.5, wrap_radius=40.0)}


@pytest.fixture(scope="module")
def gl_runtime():
    reason = context.unavailable_reason()
    if reason:
        pytest.skip(f"EGL cannot initialise here: {reason}")
    runtime = context.acquire()
    yield runtime
    from OpenGL import GL

    assert runtime.call(GL.glGetError) == 0, "GL reported an error during the tests"
    context.shutdown()


@pytest.fixture(scope="module")
def person(segmenter):
    """(frame, alpha) of the real portrait at 320x240 with a real matte."""
    frame = media.portrait((320, 240))
    alpha = MatteRefiner(MatteSettings()).refine(segmenter.confidence(frame), frame)
    assert 0.1 < (alpha > 128).mean() < 0.9
    return frame, alpha


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    img = np.ascontiguousarray(media.gradient((500, 300))[::-1])
    return media.write_image(tmp_path_factory.mktemp("glbg") / "photo.png", img)


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
    return media.make_solid_clip(tmp_path_factory.mktemp("glvid") / "loop.mp4", colours, fps=10)


@pytest.fixture(scope="module")
def compositors(gl_runtime):
    from app.engine.compositing.gl import GlCompositor

    gl = GlCompositor(runtime=gl_runtime)
    yield CpuCompositor(), gl
    gl.close()


def assert_same_picture(cpu: np.ndarray, gl: np.ndarray) -> tuple[float, int]:
    assert cpu.shape == gl.shape and gl.dtype == np.uint8
    if cpu.shape[2] == 4:
        assert np.abs(cpu[..., 3].astype(int) - gl[..., 3]).max() <= 1
        a = cpu[..., 3:].astype(np.float32) / 255.0
        diff = np.abs(cpu[..., :3] * a - gl[..., :3] * a)
        assert diff.max() <= 2, f"premultiplied colour differs by {diff.max():.1f}"
        return float(diff.mean()), int(np.ceil(diff.max()))
    diff = np.abs(cpu.astype(np.int16) - gl.astype(np.int16))
    mean, worst = float(diff.mean()), int(diff.max())
    assert mean <= MEAN_TOL and worst <= MAX_TOL, f"mean {mean:.3f} max {worst}"
    return mean, worst


def spec_for(kind: str, photo, loop) -> str:
    return {"colour": "#2a6f4e", "photo": str(photo), "video": str(loop), "blur": "blur",
            "shader": "aurora", "transparent": "transparent"}[kind]


@pytest.mark.parametrize("look", sorted(SETTINGS))
@pytest.mark.parametrize("kind", ["colour", "photo", "video", "blur", "shader", "transparent"])
def test_gl_matches_the_cpu_reference(kind, look, person, photo, loop, compositors):
    cpu, gl = compositors
    cpu.settings = gl.settings = SETTINGS[look]
    frame, alpha = person
    background = parse_background(spec_for(kind, photo, loop))
    try:
        for seconds in (0.0, 0.15):  # a moving background changes between the two
            want = cpu.composite(frame, alpha, background, seconds)
            got = gl.composite(frame, alpha, background, seconds)
            assert_same_picture(want, got)
    finally:
        background.close()


@pytest.mark.parametrize("size", [(318, 240), (640, 480)])
def test_gl_matches_at_other_sizes(size, segmenter, photo, compositors):
    """318 wide is not a multiple of 4 (no packed transfers); 640x480 is reduced 4x in one pass."""
    cpu, gl = compositors
    cpu.settings = gl.settings = CompositeSettings.natural()
    frame = media.portrait(size)
    alpha = MatteRefiner(MatteSettings()).refine(segmenter.confidence(frame), frame)
    for spec in ("blur", str(photo), "transparent"):
        background = parse_background(spec)
        assert_same_picture(cpu.composite(frame, alpha, background, 0.0), gl.composite(frame, alpha, background, 0.0))


def test_a_low_resolution_matte_is_upsampled_on_the_gpu(person, compositors):
    cpu, gl = compositors
    cpu.settings = gl.settings = CompositeSettings()
    frame, alpha = person
    small = alpha[::4, ::4].copy()
    background = parse_background("white")
    assert_same_picture(cpu.composite(frame, small, background, 0.0), gl.composite(frame, small, background, 0.0))


def test_plain_gl_blend_is_the_alpha_blend(compositors):
    """Solid inputs: the exact formula, not just the reference's rounding."""
    _, gl = compositors
    gl.settings = CompositeSettings()
    frame = np.empty((8, 16, 3), np.uint8)
    frame[:] = (200, 100, 0)
    alpha = np.repeat(np.array([0, 64, 128, 255] * 4, np.uint8)[None, :], 8, axis=0)
    out = gl.composite(frame, alpha, parse_background("#0000ff"), 0.0).astype(int)
    a = alpha[0].astype(float)[:, None] / 255.0
    want = np.array([200, 100, 0]) * a + np.array([0, 0, 255]) * (1 - a)
    assert np.abs(out[0] - want).max() <= 1


def test_a_still_picture_is_uploaded_once(person, photo, compositors, monkeypatch):
    from app.engine.gl.objects import Texture

    _, gl = compositors
    gl.settings = CompositeSettings.natural()
    frame, alpha = person
    background = parse_background(str(photo))
    uploads: list[tuple[int, int]] = []
    real = Texture.upload
    monkeypatch.setattr(Texture, "upload", lambda self, a, f: (uploads.append(self.size), real(self, a, f)))
    for i in range(3):
        gl.composite(frame, alpha, background, i / 30)
    picture_uploads = [s for s in uploads if s == (240, 240)]  # 320x240 RGB packed = 240x240 texels
    assert len(uploads) == 3 * 2 + 1 and len(picture_uploads) == 4  # frame x3, matte x3, picture x1


def test_pipeline_composites_on_gl(segmenter, gl_runtime):
    from app.engine.compositing.gl import GlCompositor
    from app.engine.files.pipeline import Pipeline
    from app.engine.sources.demo import DemoSource

    source = DemoSource(size=(320, 240), duration=0.1)
    gl = GlCompositor(CompositeSettings.natural(), gl_runtime)
    pipeline = Pipeline(source, segmenter, MatteRefiner(MatteSettings()), parse_background("bokeh"), [],
                        compositor=gl)
    try:
        frame = next(iter(source))
        result = pipeline.process(frame)
        assert result.image.shape == (240, 320, 3)
        ref = CpuCompositor(CompositeSettings.natural()).composite(frame.image, result.alpha, pipeline.background,
                                                                    0.0)
        assert_same_picture(ref, result.image)
    finally:
        pipeline.background.close()
        gl.close()


@pytest.mark.parametrize("fit", ["cover", "contain"])
def test_a_video_is_scaled_and_placed_on_the_gpu_as_on_the_cpu(fit, person, compositors, tmp_path):
    """A small video is uploaded as decoded and fitted by the shaders (bars for contain)."""
    cpu, gl = compositors
    cpu.settings = gl.settings = CompositeSettings.natural()
    frame, alpha = person
    pictures = [media.gradient((160, 90)), np.ascontiguousarray(media.gradient((160, 90))[::-1])]
    clip = media.make_video(tmp_path / "wide.mp4", frames=2, size=(160, 90), fps=10, audio=False, images=pictures)
    on_cpu, on_gl = parse_background(str(clip), fit), parse_background(str(clip), fit)
    try:
        for seconds in (0.0, 0.1):
            assert on_gl.native((320, 240), seconds) is not None
            want = cpu.composite(frame, alpha, on_cpu, seconds)
            got = gl.composite(frame, alpha, on_gl, seconds)
            assert_same_picture(want, got)
            if fit == "contain":
                room = alpha == 0  # black bars above and below, where the person is not
                assert np.all(got[:20][room[:20]] < 40) and np.all(got[-20:][room[-20:]] < 40)
    finally:
        on_cpu.close()
        on_gl.close()
