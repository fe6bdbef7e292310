"""The GL runtime: headless EGL on one named thread, owned GL objects, shader errors that
name the file, and the fallback to the CPU compositor when no OpenGL can be had."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from support import media
import numpy as np
import pytest

from app.engine.core.errors import InputError
from app.engine.gl import context


@pytest.fixture(scope="module")
def rt():
    reason = context.unavailable_reason()
    if reason:
        pytest.skip(f"EGL cannot initialise here: {reason}")
    runtime = context.acquire()
    yield runtime
    assert context.runtime().call(_gl_error) == 0, "GL reported an error during the tests"
    context.shutdown()
    assert not any(t.name == "backdrop-gl" and t.is_alive() for t in threading.enumerate())


def _gl_error() -> int:
    from OpenGL import GL

    return GL.glGetError()


def test_runtime_is_headless_gl_on_its_own_thread(rt):
    assert rt.renderer and rt.version.split()[0] >= "3.3"
    assert rt.call(lambda: threading.current_thread().name) == "backdrop-gl"
    assert any(t.name == "backdrop-gl" for t in threading.enumerate())
    # a call made from the GL thread itself runs inline instead of waiting on itself
    assert rt.call(lambda: rt.call(lambda: 41) + 1) == 42


def test_runtime_call_raises_the_callers_exception(rt):
    def boom() -> None:
        raise ValueError("from the GL thread")

    with pytest.raises(ValueError, match="from the GL thread"):
        rt.call(boom)
    assert rt.call(lambda: 7) == 7  # still serving


def test_gl_objects_are_deleted_once(rt):
    from OpenGL import GL

    from app.engine.gl.objects import RenderTarget, Texture

    def make() -> tuple:
        tex = Texture(rt, (16, 8), GL.GL_RGBA8)
        target = RenderTarget(rt, (16, 8), GL.GL_RGBA8)
        return tex, target, tex.id, target.texture.id

    tex, target, tex_id, target_tex = rt.call(make)
    assert rt.call(GL.glIsTexture, tex_id) and rt.call(GL.glIsTexture, target_tex)
    for _ in range(2):  # the second delete is a no-op
        rt.call(tex.delete)
        rt.call(target.delete)
    assert not rt.call(GL.glIsTexture, tex_id) and not rt.call(GL.glIsTexture, target_tex)
    assert tex.id == 0 and target.id == 0


def test_compositor_close_frees_its_objects_once(rt, portrait_png):
    from OpenGL import GL

    from app.engine.backgrounds.spec import parse_background
    from app.engine.compositing.gl import GlCompositor

    gl = GlCompositor()
    frame = media.portrait((64, 48))
    alpha = np.full((48, 64), 200, np.uint8)
    gl.composite(frame, alpha, parse_background("white"), 0.0)
    ids = [t.id for t in gl._state.textures.values()]
    assert ids and all(rt.call(GL.glIsTexture, i) for i in ids)
    gl.close()
    gl.close()
    assert not any(rt.call(GL.glIsTexture, i) for i in ids)


def test_a_shader_that_does_not_compile_names_the_file_and_line(rt, tmp_path):
    from app.engine.backgrounds.spec import parse_background

    bad = tmp_path / "broken.frag"
    bad.write_text("uniform float time;\nvoid main() {\n    fragColor = vec4(nonsense, 1.0);\n}\n")
    with pytest.raises(InputError) as info:
        parse_background(str(bad))
    message = str(info.value)
    assert str(bad) in message and "does not compile" in message
    assert f"{bad}:3:" in message and "nonsense" in message  # the compiler's words, at the user's line


def test_scene_shader_gets_the_uniforms_it_does_not_declare(rt, tmp_path):
    from app.engine.backgrounds.shader import ShaderBackground

    scene = tmp_path / "red_to_blue.frag"
    scene.write_text("void main() { fragColor = vec4(gl_FragCoord.x / resolution.x, 0.0, fract(time), 1.0); }\n")
    bg = ShaderBackground(scene, render_scale=1.0)
    try:
        out = bg.render(np.zeros((24, 32, 3), np.uint8), 0.5)
    finally:
        bg.close()
    assert out.shape == (24, 32, 3)
    assert out[12, 1, 0] < 20 and out[12, 30, 0] > 230  # red grows left to right
    assert abs(int(out[12, 16, 2]) - 128) <= 2  # time reached the shader


NO_GL_SCRIPT = textwrap.dedent("""
    import logging, sys
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    from app.engine.compositing.choose import make_compositor
    from app.engine.gl.context import GlUnavailable
    from app.engine.backgrounds.library import scan
    from app.engine.backgrounds.spec import open_entry
    c1, c2 = make_compositor("auto"), make_compositor("auto")
    print("auto:", c1.name, c2.name)
    try:
        make_compositor("gl")
    except GlUnavailable as exc:
        print("gl refused:", exc)
    bg = open_entry(scan().find("aurora"))  # a scene shows its still without OpenGL
    import numpy as np
    print("still:", bg.render(np.zeros((36, 64, 3), np.uint8), 0.0).shape, bg.uses_gl)
""")


def test_without_gl_the_cpu_compositor_is_used_and_one_line_says_why():
    """PyOpenGL bound to another platform stands in for a machine with no EGL."""
    env = dict(__import__("os").environ, PYOPENGL_PLATFORM="glx", PYTHONPATH=str(media.REPO))
    env.pop("DISPLAY", None)
    env.pop("BACKDROP_COMPOSITOR", None)
    proc = subprocess.run([sys.executable, "-c", NO_GL_SCRIPT], capture_output=True, text=True, env=env,
                          cwd=str(media.REPO), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "auto: cpu cpu" in proc.stdout
    assert "gl refused: egl: PYOPENGL_PLATFORM=glx is set" in proc.stdout
    assert "still: (36, 64, 3) False" in proc.stdout
    why = [line for line in proc.stderr.splitlines() if "using the CPU compositor" in line]
    assert len(why) == 1, proc.stderr
    assert "no OpenGL" in why[0] and "PYOPENGL_PLATFORM=glx" in why[0]


def test_shutdown_stops_the_thread_and_a_new_runtime_can_start(rt):
    context.shutdown()
    assert not any(t.name == "backdrop-gl" and t.is_alive() for t in threading.enumerate())
    again = context.runtime()
    assert again is not rt and again.call(lambda: 1) == 1


def test_the_gl_thread_ends_with_its_last_holder(rt):
    from app.engine.backgrounds.spec import parse_background
    from app.engine.compositing.gl import GlCompositor

    context.shutdown()
    gl = GlCompositor()  # holds the runtime it starts
    scene = parse_background("aurora")  # so does a scene
    first = gl.runtime
    assert scene._runtime is first and context.is_running()
    gl.close()
    assert context.is_running()  # the scene still holds it
    scene.close()
    assert not context.is_running()
    assert not any(t.name == "backdrop-gl" and t.is_alive() for t in threading.enumerate())


def test_shaders_folder_is_found_from_the_package():
    from app.engine.core.assets import shaders_dir, shipped_backgrounds_dir

    assert (shaders_dir() / "passes" / "composite.frag").is_file()
    assert shipped_backgrounds_dir() == Path(media.REPO) / "backgrounds"
