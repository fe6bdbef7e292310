"""Installed backgrounds: what ships in backgrounds/, the user's folder, names on the command
line, and what happens with bad files."""

from __future__ import annotations

import json

from support import media
import numpy as np
import pytest

from app.engine.backgrounds import library
from app.engine.backgrounds.base import ColourBackground
from app.engine.backgrounds.image import ImageBackground
from app.engine.backgrounds.shader import ShaderBackground
from app.engine.backgrounds.slot import BackgroundSlot
from app.engine.backgrounds.spec import parse_background
from app.engine.backgrounds.video import VideoBackground
from app.engine.core.errors import InputError, SettingsError
from app.engine.gl import context
from app.engine.imaging.images import MAX_IMAGE_SIDE, load_image_rgb

FRAME = np.zeros((90, 160, 3), np.uint8)


@pytest.fixture(scope="module")
def gl_or_skip():
    """OpenGL held for the module (scenes would otherwise start and stop it each time)."""
    reason = context.unavailable_reason()
    if reason:
        pytest.skip(f"EGL cannot initialise here: {reason}")
    rt = context.acquire()
    yield rt
    context.release(rt)
    assert not context.is_running(), "something still holds the GL runtime"


def test_at_least_eight_shipped_backgrounds_with_manifests_and_thumbnails(user_dir):
    found = library.scan()
    shipped = [e for e in found.entries if e.origin == "shipped"]
    assert len(shipped) >= 8, [e.id for e in shipped]
    assert not found.problems, found.problems
    assert {"photo", "video", "shader"} <= {e.kind for e in shipped}
    for entry in shipped:
        data = json.loads(entry.manifest.read_text())
        assert data["name"] and data["kind"] == entry.kind and entry.path.is_file()
        thumb = load_image_rgb(entry.thumbnail)
        assert thumb.shape[0] <= 160 and thumb.shape[1] <= 320
        if entry.kind == "shader":
            assert entry.still is not None and entry.still.is_file()  # shown where there is no OpenGL
    total = sum(p.stat().st_size for p in library.shipped_backgrounds_dir().rglob("*") if p.is_file())
    assert total < 4_000_000, f"shipped backgrounds take {total} bytes"


def test_every_shipped_background_renders(user_dir, gl_or_skip):
    for entry in library.scan().entries:
        background = parse_background(entry.id)
        try:
            first = background.render(FRAME, 0.0)
            later = background.render(FRAME, 2.5)
        finally:
            background.close()
        assert first.shape == FRAME.shape and first.dtype == np.uint8, entry.id
        assert first.std() > 2, f"{entry.id} renders flat"
        if entry.kind == "shader":
            assert not np.array_equal(first, later), f"{entry.id} does not move"


def test_names_resolve_to_the_right_kind(user_dir, gl_or_skip):
    kinds = {"sunset": ImageBackground, "waves": VideoBackground, "aurora": ShaderBackground,
             "Warm bokeh": ImageBackground, "white": ColourBackground}
    for name, kind in kinds.items():
        background = parse_background(name)
        try:
            assert isinstance(background, kind), name
        finally:
            background.close()


def test_unknown_name_is_a_settings_error_pointing_at_the_list(user_dir):
    with pytest.raises(SettingsError) as info:
        parse_background("no-such-background")
    assert "no-such-background" in str(info.value) and "backdrop backgrounds" in str(info.value)


def test_user_folder_holds_bare_files_and_manifests(user_dir):
    media.write_image(user_dir / "beach.jpg", media.gradient((64, 48)))
    (user_dir / "glow.frag").write_text("void main() { fragColor = vec4(1.0); }\n")
    (user_dir / "notes.txt").write_text("not a background")
    media.write_image(user_dir / "pic.png", media.gradient((64, 48)))
    (user_dir / "office.json").write_text(json.dumps({"name": "My office", "kind": "photo", "file": "pic.png"}))
    (user_dir / "sunset.json").write_text(json.dumps({"name": "Mine too", "kind": "photo", "file": "pic.png"}))
    (user_dir / "broken.json").write_text("{not json")
    (user_dir / "missing.json").write_text(json.dumps({"name": "Gone", "kind": "video", "file": "gone.mp4"}))
    found = library.scan()
    mine = {e.id: e for e in found.entries if e.origin == "user"}
    assert set(mine) == {"beach", "glow", "office", "user:sunset"}
    assert mine["office"].name == "My office" and mine["beach"].kind == "photo" and mine["glow"].kind == "shader"
    assert found.find("office") is mine["office"] and found.find("my office") is mine["office"]
    problems = "\n".join(found.problems)
    assert str(user_dir / "broken.json") in problems and "not valid JSON" in problems
    assert str(user_dir / "missing.json") in problems and "gone.mp4" in problems
    assert "'sunset' is taken" in problems
    assert isinstance(parse_background("beach"), ImageBackground)


def test_backgrounds_command_lists_what_is_installed(run_cli, user_dir):
    media.write_image(user_dir / "beach.jpg", media.gradient((64, 48)))
    result = run_cli("backgrounds")
    assert result.rc == 0, result.stderr
    for word in ("blur[:STRENGTH]", "transparent", "aurora", "bokeh", "studio", "waves", "sunset", "beach",
                 str(user_dir)):
        assert word in result.stdout, word
    listed = json.loads(run_cli("backgrounds", "--json").stdout)
    assert {"aurora", "beach"} <= {b["id"] for b in listed["backgrounds"]}


def test_process_accepts_a_background_name(run_cli, tmp_path, user_dir):
    out = tmp_path / "out.mp4"
    result = run_cli("process", "demo", out, "--background", "studio", "--size", "160x120", "--duration", "0.2",
                     "--quiet")
    assert result.rc == 0, result.stderr
    info = media.probe(out, decode_audio=False)
    assert info.frames == 6 and info.size == (160, 120)


def test_exif_orientation_is_honoured(tmp_path):
    from PIL import Image

    path = tmp_path / "rotated.jpg"
    image = Image.fromarray(media.gradient((40, 20)))  # 40 wide, 20 tall as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    image.save(path, exif=exif)
    assert load_image_rgb(path).shape[:2] == (40, 20)  # displayed 20 wide, 40 tall


def test_huge_photos_are_scaled_once_on_load(tmp_path):
    path = media.write_image(tmp_path / "huge.png", np.full((300, 6000, 3), 90, np.uint8))
    background = ImageBackground(path)
    assert max(background._image.shape[:2]) == MAX_IMAGE_SIDE
    first = background.render(FRAME, 0.0)
    assert background.render(FRAME, 1.0) is first  # fitted once per frame size, not per frame


def test_a_failed_switch_keeps_the_previous_background(tmp_path):
    slot = BackgroundSlot(parse_background("white"))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(InputError) as info:
        slot.switch(str(bad))
    assert str(bad) in str(info.value)
    assert isinstance(slot.current, ColourBackground)
    assert np.all(slot.render(FRAME, 0.0) == 255)
    slot.switch("black")
    assert np.all(slot.render(FRAME, 0.0) == 0)
    slot.close()


def test_a_video_that_cannot_be_decoded_names_the_file(tmp_path):
    bad = tmp_path / "bad.webm"
    bad.write_bytes(b"\x1aE\xdf\xa3" + b"\x00" * 64)
    with pytest.raises(InputError) as info:
        parse_background(str(bad))
    assert str(bad) in str(info.value)
