"""Odd frame sizes (161x121), which 4:2:0 codecs cannot take, are padded by one pixel to
even (162x122) with a one-line warning, for `process` and for live recordings."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from support import media

from app.engine.core.frame import Frame
from app.engine.outputs.null_camera import NullCameraBackend
from app.engine.outputs.video_file import VideoFileOutput
from app.engine.outputs.virtual_camera import VirtualCameraOutput

ODD = (161, 121)
EVEN = (162, 122)  # padded, not cropped: no column or row of the picture is lost


@pytest.fixture(scope="module")
def odd_clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("odd")
    images = [media.portrait(ODD, i / 10) for i in range(6)]
    return media.make_clip(folder / "odd.mp4", images, pix_fmt="yuv444p")  # 4:4:4 takes odd sizes


@pytest.mark.parametrize("ext", [".mp4", ".webm"])
@pytest.mark.slow
def test_process_pads_an_odd_size_to_even_and_says_so(tmp_path, odd_clip, ext):
    out = tmp_path / f"out{ext}"
    result = media.run_cli("process", odd_clip, out, "--quiet")
    assert result.rc == 0, result.stderr
    warnings = [ln for ln in result.stderr.splitlines() if "161x121" in ln]
    assert len(warnings) == 1 and str(out) in warnings[0] and "162x122" in warnings[0], result.stderr
    info = media.probe(out, decode_audio=False)
    assert info.size == EVEN and info.frames == 6


def test_padding_repeats_the_edge(tmp_path):
    image = np.zeros((ODD[1], ODD[0], 3), np.uint8)
    image[:, -1] = 200  # the last column and row are bright: the padding copies them
    image[-1, :] = 200
    out = VideoFileOutput(tmp_path / "edge.mkv", Fraction(10))
    for i in range(3):
        out.write(Frame(image=image, capture_ns=0, index=i, pts=i, time_base=Fraction(1, 10)), image)
    out.close()
    info = media.probe(tmp_path / "edge.mkv", decode_audio=False)
    assert info.size == EVEN
    first = info.first_frame.astype(np.float32)
    assert first[:-4, -1].mean() > 150 and first[-1, :-4].mean() > 150
    assert first[:-4, :-4].mean() < 40


@pytest.mark.slow
def test_live_recording_of_an_odd_size_camera_is_written(tmp_path, odd_clip):
    record = tmp_path / "rec.mp4"
    result = media.run_cli("run", "--camera", odd_clip, "--loop", "--vcam-backend", "null", "--vcam",
                           "--record", record, "--mic", "none", "--duration", "2")
    assert result.rc == 0, result.stderr
    assert record.stat().st_size > 0, result.stderr
    info = media.probe(record, decode_audio=False)
    assert info.size == EVEN and info.frames >= 3, result.stderr
    assert any(str(record) in ln and "162x122" in ln for ln in result.stderr.splitlines()), result.stderr


def test_an_odd_sized_camera_reaches_the_virtual_camera_padded_to_even():
    vcam = VirtualCameraOutput((161, 121), 30.0, backend="null")
    try:
        assert vcam.size == (162, 122)
        vcam.write(Frame(np.zeros((121, 161, 3), np.uint8), 0, 0), np.full((121, 161, 3), 200, np.uint8))
        assert vcam.frames_sent == 1 and NullCameraBackend.log.frames >= 1
    finally:
        vcam.close()
