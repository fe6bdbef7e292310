"""Bad option values and unsafe outputs through the command line: one line naming the option
(or file), the value and the range, exit 2 for a bad value and 1 for an output refused, and
nothing left behind; plus --version, the panel without a display, `remove`'s backgrounds
and the no-overwrite rename against a second writer."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from support import media
from support.media import leftovers

from app.engine.core.errors import OutputError
from app.engine.outputs.atomic import check_writable_target, commit, partial_path
from app.engine.outputs.png_sequence import PngSequenceOutput

KEEP = "the earlier result\n"

# (args, exit code, words the one error line must contain, paths that must not exist after).
# {clip} {photo} {tmp}: a short video, a portrait photo, the test's folder; {tmp}/report.csv
# holds KEEP before each run and must still hold it after.
CASES = [
    (["process", "{clip}", "{tmp}/out.mp4", "--fps", "0"], 2, ["--fps", "0", "1..120"], ["out.mp4"]),
    (["process", "{clip}", "{tmp}/out.mp4", "--fps", "-5"], 2, ["--fps", "-5", "1..120"], ["out.mp4"]),
    (["process", "demo", "{tmp}/out.mp4", "--fps", "nan"], 2, ["--fps", "nan"], ["out.mp4"]),
    (["process", "{clip}", "{tmp}/out.mp4", "--grow", "100000"], 2, ["--grow", "100000", "-50..50"], ["out.mp4"]),
    (["process", "{clip}", "{tmp}/out.mp4", "--feather", "100000"], 2, ["--feather", "0..50"], ["out.mp4"]),
    (["process", "{clip}", "{tmp}/out.mp4", "--threshold", "1.5"], 2, ["--threshold", "1.5", "0..1"], ["out.mp4"]),
    (["process", "demo", "{tmp}/out.mp4", "--duration", "0"], 2, ["--duration", "0", "> 0"], ["out.mp4"]),
    (["process", "demo", "{tmp}/out.mp4", "--duration", "-3"], 2, ["--duration", "-3"], ["out.mp4"]),
    (["process", "demo", "{tmp}/out.mp4", "--size", "8x8"], 2, ["--size", "8x8", "16..7680"], ["out.mp4"]),
    (["process", "{clip}", "{tmp}/out.mp4", "-b", "blur:100000"], 2, ["blur:100000", "200"], ["out.mp4"]),
    (["process", "{clip}", "{tmp}/out.mp4", "-b", "blur:0"], 2, ["blur:0", "> 0"], ["out.mp4"]),
    (["remove", "{photo}", "-o", "{tmp}/out", "--jobs", "-3"], 2, ["--jobs", "-3", "1..64"], ["out"]),
    (["remove", "{photo}", "-o", "{tmp}/out", "-j", "0"], 2, ["--jobs", "0"], ["out"]),
    (["remove", "{photo}", "-o", "{tmp}/out", "--smoothing", "3"], 2, ["--smoothing", "3", "0..1"], ["out"]),
    (["remove", "{photo}", "-o", "{tmp}/out", "-b", "blur:-4"], 2, ["blur:-4"], ["out"]),
    (["run", "--camera", "demo", "--duration", "0"], 2, ["--duration", "0"], []),
    (["run", "--camera", "demo", "--fps", "500"], 2, ["--fps", "500", "1..120"], []),
    (["run", "--camera", "demo", "--bitrate", "5"], 2, ["--bitrate", "5"], []),
    (["run", "--camera", "demo", "--av-offset", "5000"], 2, ["--av-offset", "5000", "-1000..1000"], []),
    (["run", "--camera", "demo", "--grow", "-99"], 2, ["--grow", "-99"], []),
    # the report: refused before the first image (so the output folder is not even made)
    (["remove", "{photo}", "-o", "{tmp}/out", "--report", "{tmp}/report.csv"], 1,
     ["report.csv", "--overwrite"], ["out"]),
    (["remove", "{photo}", "-o", "{tmp}/out", "--report", "{tmp}/blocker.txt/report.csv"], 1,
     ["blocker.txt/report.csv", "not a folder"], ["out"]),
    (["remove", "{photo}", "-o", "{tmp}/out", "--report", "/proc/backdrop-report.csv"], 1,
     ["/proc/backdrop-report.csv", "not writable"], ["out"]),
    (["remove", "{photo}", "-o", "/proc/backdrop-out"], 1, ["/proc/backdrop-out"], []),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    return {"clip": media.make_video(folder / "clip.mp4", frames=4, size=(64, 48)),
            "photo": media.write_image(folder / "photo.png", media.portrait((160, 120)))}


@pytest.mark.parametrize("args, rc, words, absent", CASES, ids=[" ".join(c[0][:1] + c[0][-2:]) for c in CASES])
@pytest.mark.slow
def test_bad_option_or_output_is_one_line_and_leaves_nothing(run_cli, inputs, tmp_path, args, rc, words, absent):
    (tmp_path / "report.csv").write_text(KEEP)
    (tmp_path / "blocker.txt").write_text("a file, not a folder")
    where = {"clip": inputs["clip"], "photo": inputs["photo"], "tmp": tmp_path}
    result = run_cli(*(a.format(**where) for a in args), timeout=60)
    assert result.rc == rc, f"rc={result.rc}\n{result.stderr}"
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("backdrop: error: "), result.stderr
    for word in words:
        assert word in lines[0], f"{word!r} not in: {lines[0]}"
    for name in absent:
        assert not (tmp_path / name).exists(), f"{name} was left behind"
    assert (tmp_path / "report.csv").read_text() == KEEP
    assert leftovers(tmp_path) == []
    assert not Path("/proc/backdrop-out").exists()


def _cli_env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(media.REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for name, value in changes.items():
        env.pop(name, None) if value is None else env.__setitem__(name, value)
    return env


def test_version_prints_the_package_version():
    result = media.run_cli("--version")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == f"backdrop {version('backdrop')}"


@pytest.mark.parametrize("display", [None, ":97"])
def test_panel_without_a_display_says_so_in_one_line(display):
    """No DISPLAY (or one where no X server answers): one line and exit 1, not Qt's abort."""
    env = _cli_env(DISPLAY=display, WAYLAND_DISPLAY=None, QT_QPA_PLATFORM=None)
    proc = subprocess.run([sys.executable, "-m", "app"], cwd=str(media.REPO), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, f"rc={proc.returncode}\n{proc.stderr}"
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "needs a display" in lines[0]
    for command in ("process", "remove", "run", "devices", "backgrounds", "models"):
        assert command in lines[0]
    assert "Aborted" not in proc.stderr and "core dumped" not in proc.stderr


@pytest.mark.parametrize("spec", ["blur", "blur:10", "aurora", "{video}"])
@pytest.mark.slow
def test_remove_takes_the_backgrounds_process_takes(run_cli, inputs, tmp_path, spec):
    """blur, library names and video files (their first frame) behind a photo: opaque results."""
    video = media.make_video(tmp_path / "bg.mp4", frames=3, size=(64, 48), audio=False)
    out = tmp_path / "out"
    result = run_cli("remove", inputs["photo"], "-o", out, "-b", spec.format(video=video), "-j", "1", "-q")
    assert result.rc == 0, result.stderr
    image = media.read_image(out / "photo.png")
    assert image.shape == (120, 160, 3)


def test_two_runs_to_one_output_without_overwrite_keep_the_first(tmp_path):
    """Both runs pass the check up front; the later one must fail at its final rename."""
    out = tmp_path / "out.mp4"
    cmd = [sys.executable, "-m", "app", "process", "demo", str(out), "--size", "64x48", "--fps", "10",
           "--duration", "1", "-q", "--compositor", "cpu"]
    runs = [subprocess.Popen(cmd, cwd=str(media.REPO), env=_cli_env(), stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = sorted((run.wait(timeout=120), run.stderr.read()) for run in runs)
    assert [rc for rc, _ in results] == [0, 1], results
    assert str(out) in results[1][1] and "--overwrite" in results[1][1]
    assert out.is_file() and leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_commit_without_overwrite_keeps_what_another_writer_put_there(tmp_path, kind):
    """The target appears between the check and the rename: it is kept, the new one discarded."""
    target = tmp_path / ("report.csv" if kind == "file" else "frames")
    check_writable_target(target, [], overwrite=False)
    if kind == "file":
        partial = partial_path(target)
        partial.write_text("new")
        target.write_text(KEEP)
        with pytest.raises(OutputError, match="--overwrite"):
            commit(partial, target)
        assert target.read_text() == KEEP
    else:
        sink = PngSequenceOutput(target)
        target.mkdir()
        (target / "000000.png").write_text(KEEP)
        with pytest.raises(OutputError, match="--overwrite"):
            sink.close()
        assert [p.name for p in target.iterdir()] == ["000000.png"]
    assert leftovers(tmp_path) == []


def test_commit_with_overwrite_replaces(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text(KEEP)
    check_writable_target(target, [], overwrite=True)
    partial = partial_path(target)
    partial.write_text("new")
    commit(partial, target)
    assert target.read_text() == "new" and leftovers(tmp_path) == []
