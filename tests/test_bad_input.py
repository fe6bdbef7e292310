"""Bad input through the command line: one line naming the thing and the reason, a non-zero
exit, and nothing overwritten or left half-written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from support import media
import pytest
from support.media import leftovers, run_cli


def assert_one_error(result: media.CliResult, *names: object, rc: int = 1) -> str:
    """Exit status `rc`, and stderr is exactly one line: 'backdrop: error: ...' naming each of `names`."""
    assert result.rc == rc, f"rc={result.rc}\n{result.stderr}"
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, "want one error line, got:\n" + result.stderr
    line = lines[0]
    assert line.startswith("backdrop: error: "), line
    for name in names:
        assert str(name) in line, f"{name!s} not named in: {line}"
    return line


def assert_nothing_written(folder: Path, *absent: Path) -> None:
    for path in absent:
        assert not path.exists(), f"{path} was left behind"
    assert leftovers(folder) == [], "partial outputs left behind"


@pytest.fixture
def work(tmp_path, clip_mp4) -> Path:
    """A folder holding a good clip (input.mp4) for the tests to spoil things around."""
    shutil.copyfile(clip_mp4, tmp_path / "input.mp4")
    return tmp_path


def truncated_copy(src: Path, dst: Path, share: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * share)])
    return dst


@pytest.fixture(scope="module")
def long_mp4(tmp_path_factory) -> Path:
    return media.make_video(tmp_path_factory.mktemp("long") / "long.mp4", frames=60, size=(160, 120))


# -- unreadable inputs ----------------------------------------------------------------------
def test_missing_input(work):
    missing, out = work / "missing.mp4", work / "out.mp4"
    line = assert_one_error(run_cli("process", missing, out), missing)
    assert "no such file" in line
    assert_nothing_written(work, out)


@pytest.mark.parametrize("name, content", [
    ("garbage.mp4", b"this is not a video file, just text\n" * 20),
    ("empty.mp4", b""),
    ("notes.txt", b"plain text is not a supported input\n"),
    ("random.mkv", bytes(range(256)) * 40),
])
def test_unreadable_or_unsupported_input(work, name, content):
    bad, out = work / name, work / "out.mp4"
    bad.write_bytes(content)
    line = assert_one_error(run_cli("process", bad, out), bad)
    assert "not a readable video" in line
    assert_nothing_written(work, out)


def test_mp4_cut_in_half(work):
    bad, out = truncated_copy(work / "input.mp4", work / "cut.mp4"), work / "out.mp4"
    assert_one_error(run_cli("process", bad, out), bad)
    assert_nothing_written(work, out)


@pytest.mark.parametrize("kind", ["faststart.mp4", "stream.mkv"])
def test_truncated_video_with_a_readable_header(work, long_mp4, kind):
    """Cut in half after a readable header (web-optimised mp4, or mkv): the first frames
    decode, then the file ends. That is an error naming the file, and no short output is kept."""
    if kind.endswith(".mp4"):
        whole = media.faststart(long_mp4, work / "whole.mp4")
    else:
        whole = media.make_video(work / "whole.mkv", frames=60, size=(160, 120))
    bad = truncated_copy(whole, work / f"cut-{kind}")
    out = work / "out.mp4"
    line = assert_one_error(run_cli("process", bad, out), bad)
    assert "truncated" in line or "corrupt" in line
    assert_nothing_written(work, out)


def test_folder_with_no_images(work):
    empty = work / "frames"
    empty.mkdir()
    (empty / "readme.txt").write_text("no frames here")
    out = work / "out.mp4"
    line = assert_one_error(run_cli("process", empty, out), empty)
    assert "no images" in line
    assert_nothing_written(work, out)


@pytest.mark.slow
def test_corrupt_frame_in_a_folder_stops_and_leaves_nothing(work):
    frames = work / "frames"
    media.make_frame_folder(frames, 6, size=(160, 120))
    bad = frames / "frame3.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    for out in (work / "out.mp4", work / "out-frames"):
        assert_one_error(run_cli("process", frames, out, "-q"), bad)
        assert_nothing_written(work, out)


@pytest.mark.slow
def test_failure_with_overwrite_keeps_the_old_output(work):
    """--overwrite replaces the output only once the new one is complete."""
    frames = work / "frames"
    media.make_frame_folder(frames, 4, size=(160, 120))
    (frames / "frame2.png").write_bytes(b"not a png")
    out = work / "out.mp4"
    out.write_bytes(b"the previous result")
    assert_one_error(run_cli("process", frames, out, "--overwrite"), frames / "frame2.png")
    assert out.read_bytes() == b"the previous result"
    assert leftovers(work) == []


# -- cameras and models ---------------------------------------------------------------------
def test_missing_camera(work):
    out = work / "out.mp4"
    line = assert_one_error(run_cli("process", "camera:99", out, "--duration", "1"), "camera 99")
    assert "cannot be opened" in line
    assert_nothing_written(work, out)


def test_missing_model(work):
    model, out = work / "models" / "nope.tflite", work / "out.mp4"
    assert_one_error(run_cli("process", work / "input.mp4", out, "--model", model), model)
    assert_nothing_written(work, out)


def test_broken_model(work):
    model, out = work / "broken.tflite", work / "out.mp4"
    model.write_bytes(b"\x00" * 64 + b"not a flatbuffer" * 20)
    line = assert_one_error(run_cli("process", work / "input.mp4", out, "--model", model), model)
    assert "model" in line
    assert_nothing_written(work, out)


def test_corrupt_background_photo(work):
    photo, out = work / "office.jpg", work / "out.mp4"
    photo.write_bytes(b"\xff\xd8\xff\xe0 a broken jpeg")
    assert_one_error(run_cli("process", work / "input.mp4", out, "--background", photo), photo)
    assert_nothing_written(work, out)


def test_missing_background_video(work):
    bg, out = work / "beach.mp4", work / "out.mp4"
    assert_one_error(run_cli("process", work / "input.mp4", out, "--background", bg), bg)
    assert_nothing_written(work, out)


# -- outputs --------------------------------------------------------------------------------
def test_existing_output_is_refused_and_untouched(work):
    out = work / "out.mp4"
    out.write_bytes(b"keep me")
    before = os.stat(out).st_mtime_ns
    line = assert_one_error(run_cli("process", work / "input.mp4", out), out)
    assert "--overwrite" in line
    assert out.read_bytes() == b"keep me" and os.stat(out).st_mtime_ns == before
    assert leftovers(work) == []


def test_existing_output_folder_is_refused_and_untouched(work):
    out = work / "frames"
    out.mkdir()
    (out / "000000.png").write_bytes(b"keep me")
    assert_one_error(run_cli("process", work / "input.mp4", out), out)
    assert [p.name for p in out.iterdir()] == ["000000.png"]
    assert (out / "000000.png").read_bytes() == b"keep me"


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink"])
def test_output_same_as_input_is_refused(work, spelling):
    src = work / "input.mp4"
    before = src.read_bytes()
    out = {"same": src, "dotted": work / "." / ".." / work.name / "input.mp4", "symlink": work / "link.mp4"}[spelling]
    if spelling == "symlink":
        out.symlink_to(src)
    for extra in ([], ["--overwrite"]):
        line = assert_one_error(run_cli("process", src, out, *extra), out)
        assert "same" in line
    assert src.read_bytes() == before
    assert leftovers(work) == []


def test_frame_folder_as_its_own_output_is_refused(work):
    frames = work / "frames"
    media.make_frame_folder(frames, 2, size=(64, 48))
    assert_one_error(run_cli("process", frames, frames, "--overwrite"), frames)
    assert sorted(p.name for p in frames.iterdir()) == ["frame0.png", "frame1.png"]


def test_output_folder_that_does_not_exist(work):
    out = work / "no" / "such" / "folder" / "out.mp4"
    line = assert_one_error(run_cli("process", work / "input.mp4", out), out)
    assert "does not exist" in line
    assert not (work / "no").exists()


def test_output_under_a_regular_file(work):
    blocker = work / "file.txt"
    blocker.write_text("a file, not a folder")
    for out in (blocker / "out.mp4", blocker / "frames"):
        assert_one_error(run_cli("process", work / "input.mp4", out), out)
    assert blocker.read_text() == "a file, not a folder"
    assert leftovers(work) == []


@pytest.mark.parametrize("name", ["backdrop-test-out.mp4", "backdrop-test-frames"])
def test_output_where_files_cannot_be_created(work, name):
    """/proc refuses new files even to root (where permission bits do not apply)."""
    out = Path("/proc") / name
    line = assert_one_error(run_cli("process", work / "input.mp4", out), out)
    assert "writ" in line or "cannot" in line
    assert not out.exists()


def test_unsupported_output_extension(work):
    for out in (work / "out.avi", work / "out.gif", work / "out.png"):
        line = assert_one_error(run_cli("process", work / "input.mp4", out), out)
        assert "unsupported" in line
        assert_nothing_written(work, out)


def test_unknown_background_spec_is_a_usage_error(work):
    out = work / "out.mp4"
    assert_one_error(run_cli("process", work / "input.mp4", out, "--background", "sparkles"), "sparkles", rc=2)
    assert_nothing_written(work, out)


# -- remove ---------------------------------------------------------------------------------
def test_remove_with_no_images_at_all(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    result = run_cli("remove", empty, "-o", out)
    assert result.rc == 1
    assert any(str(empty) in ln and "no images" in ln for ln in result.error_lines), result.stderr
    assert all(ln.startswith("backdrop: error:") for ln in result.stderr.splitlines() if ln.strip())
    assert not out.exists()


def test_remove_into_an_unwritable_folder(tmp_path, portrait_png):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    out = blocker / "out"
    result = run_cli("remove", portrait_png, "-o", out)
    assert result.rc == 1
    assert any(str(out) in ln for ln in result.error_lines), result.stderr
    assert blocker.read_text() == "x"
