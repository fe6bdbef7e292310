"""`backdrop run` ends with one line and exit 1 when its camera fails (a file that breaks
mid-way), and takes `--compositor` like `process` does."""

from __future__ import annotations

from pathlib import Path

import av
from support import media
import pytest

FRAMES = 90


def spoiled(whole: Path, dst: Path, how: str) -> Path:
    """`whole` cut in the middle ("truncated") or with its second half zeroed ("corrupt")."""
    data = whole.read_bytes()
    half = len(data) // 2
    dst.write_bytes(data[:half] if how == "truncated" else data[:half] + bytes(len(data) - half))
    return dst


def decodable_frames(path: Path) -> tuple[int, int, bool]:
    """(frames decoded, frames declared, whether decoding raised), decoding as live mode does."""
    decoded, failed = 0, False
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        declared = stream.frames
        try:
            for _ in container.decode(stream):
                decoded += 1
        except av.FFmpegError:
            failed = True
    return decoded, declared, failed


@pytest.fixture(scope="module")
def whole_mp4(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("camera")
    return media.faststart(media.make_video(folder / "plain.mp4", frames=FRAMES, audio=False), folder / "whole.mp4")


@pytest.mark.parametrize("how", [
    "corrupt",
    "truncated",
])
@pytest.mark.slow
def test_a_camera_file_that_breaks_mid_way_ends_run_with_one_line_and_exit_1(tmp_path, whole_mp4, how):
    bad = spoiled(whole_mp4, tmp_path / f"{how}.mp4", how)
    decoded, declared, _ = decodable_frames(bad)
    assert 0 < decoded < declared == FRAMES, "the file breaks mid-way, after some frames"
    record = tmp_path / "rec.mkv"
    result = media.run_cli("run", "--camera", bad, "--vcam-backend", "null", "--vcam", "--record", record,
                           "--mic", "none", "--duration", "5", "--quiet")
    assert result.rc == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.error_lines) == 1, result.stderr
    line = result.error_lines[0]
    assert str(bad) in line and ("decoded" in line or "truncated" in line), line
    assert "stopped after" not in result.stderr, "no summary of a run that failed"
    frames = media.probe(record, decode_audio=False).frames
    assert 1 <= frames <= decoded, "what came before the error is kept, finalised"


@pytest.mark.slow
def test_run_with_the_cpu_compositor(run_cli):
    result = run_cli("run", "--camera", "demo", "--size", "320x240", "--vcam-backend", "null", "--vcam",
                     "--mic", "none", "--duration", "1", "--quiet", "--compositor", "cpu")
    assert result.rc == 0, result.stderr
    assert "OpenGL" not in result.stderr, "--compositor cpu does not look for OpenGL"
    assert "stopped after" in result.stderr


def test_run_with_an_unknown_compositor_is_one_line_and_exit_2(run_cli):
    result = run_cli("run", "--camera", "demo", "--vcam-backend", "null", "--compositor", "bogus")
    assert result.rc == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines == result.error_lines and len(lines) == 1, result.stderr
    assert "--compositor" in lines[0] and "auto, gl, cpu" in lines[0] and "'bogus'" in lines[0]
