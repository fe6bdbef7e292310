"""Messages name the file (or stream, or device) and the reason, never an internal class or a
bare errno: failed live outputs, writes that fail or fill the disk, frame folders, and
third-party decoders kept off the terminal. Also: video backgrounds come upright."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from support import media

from app.engine.backgrounds.base import ColourBackground
from app.engine.backgrounds.video import VideoBackground
from app.engine.core.errors import InputError, OutputError
from app.engine.core.frame import Frame
from app.engine.imaging.images import load_image_rgb, write_file
from app.engine.live.pipeline import LivePipeline
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.base import failure_line, label_of
from app.engine.outputs.png_sequence import PngSequenceOutput
from app.engine.outputs.rtmp_stream import RtmpStreamOutput
from app.engine.outputs.video_file import VideoFileOutput
from app.engine.outputs.virtual_camera import VirtualCameraOutput
from app.engine.sources.demo import LiveDemoSource
from app.engine.sources.images import ImageSequenceSource

SIZE = (320, 240)


def noise(size: tuple[int, int] = (640, 480), seed: int = 0) -> np.ndarray:
    """An RGB picture that compresses badly: PNGs of it are large."""
    w, h = size
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


@pytest.fixture
def full_disk(tmp_path):
    """A 200 KiB tmpfs owned by this user: a genuinely small disk that fills up. Mounting
    needs root, or sudo without a password (as install.sh uses on CI)."""
    folder = tmp_path / "small"
    folder.mkdir()
    as_root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    options = f"size=200k,uid={os.getuid()},gid={os.getgid()}"
    done = subprocess.run([*as_root, "mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (neither root nor sudo -n): {done.stderr.strip()}")
    yield folder
    subprocess.run([*as_root, "umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def dev_full(tmp_path):
    """A video file name that leads to /dev/full, where every write fails: disk full."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    link = tmp_path / "rec.mp4"
    link.symlink_to("/dev/full")
    return link


# -- (a) live outputs that fail are named as the user knows them ----------------------------
def test_a_failed_recording_names_its_file_and_what_goes_on(dev_full, caplog):
    vcam = VirtualCameraOutput(SIZE, 30.0, backend="null")
    recording = VideoFileOutput(dev_full, Fraction(30), recording=True)
    pipeline = LivePipeline(LiveDemoSource(SIZE, Fraction(30)), Segmenter("general", video=True),
                            MatteRefiner(), ColourBackground((0, 255, 0)), [recording, vcam])
    with caplog.at_level(logging.ERROR, logger="backdrop.live"):
        pipeline.start()
        time.sleep(1.0)
        pipeline.stop()
        pipeline.wait()
    lines = [r.getMessage() for r in caplog.records if r.name == "backdrop.live"]
    assert lines == [f"recording {dev_full} failed: cannot be written (the disk is full); "
                     f"virtual camera {vcam.device} goes on"], lines
    assert vcam.frames_sent > 5, "the virtual camera went on"


def test_every_output_has_a_label_the_user_knows(tmp_path):
    recording = VideoFileOutput(tmp_path / "a.mp4", Fraction(30), recording=True)
    assert recording.label == f"recording {tmp_path / 'a.mp4'}"
    recording.abort()
    video = VideoFileOutput(tmp_path / "b.mkv", Fraction(30))
    assert video.label == f"video {tmp_path / 'b.mkv'}"
    video.abort()
    sequence = PngSequenceOutput(tmp_path / "frames")
    assert sequence.label == f"PNG sequence {tmp_path / 'frames'}"
    sequence.abort()
    vcam = VirtualCameraOutput(SIZE, 30.0, device="/dev/video7", backend="null")
    assert vcam.label == "virtual camera /dev/video7"
    vcam.close()
    stream = RtmpStreamOutput("rtmp://127.0.0.1:9/live", 30.0)
    try:
        assert stream.label == "stream rtmp://127.0.0.1:9/live"
    finally:
        stream.close()


def test_failure_line_does_not_repeat_the_name_and_says_when_nothing_is_left(tmp_path):
    class Named:
        def __init__(self, label: str) -> None:
            self.label = label

    rec, stream = Named(f"recording {tmp_path}/x.mp4"), Named("stream rtmp://host/app")
    error = OutputError(f"{tmp_path}/x.mp4: cannot be written (Read-only file system)")
    assert failure_line(rec, error, [stream]) == \
        f"recording {tmp_path}/x.mp4 failed: cannot be written (Read-only file system); stream rtmp://host/app goes on"
    assert failure_line(stream, OSError(13, "Permission denied"), []) == \
        "stream rtmp://host/app failed: Permission denied; no other output is left"
    assert label_of(object()) == "an output"


# -- (b) "cannot be written" always says why --------------------------------------------------
def test_a_file_that_cannot_be_written_says_why(tmp_path):
    with pytest.raises(OutputError, match=re.escape(f"{tmp_path}: cannot be written (Is a directory)")):
        write_file(tmp_path, b"data")


def test_png_sequence_on_a_full_disk_names_the_frame_and_the_reason(full_disk, capfd):
    out = PngSequenceOutput(full_disk / "seq")
    with pytest.raises(OutputError) as caught:
        for index in range(4):
            image = noise(seed=index)
            out.write(Frame(image, 0, index), image)
    out.abort()
    assert re.fullmatch(re.escape(str(full_disk / "seq")) + r"/00000\d\.png: the disk is full "
                        r"\(only \d+ of \d+ bytes written\)", str(caught.value)), caught.value
    assert "libpng" not in capfd.readouterr().err


# -- (c) a short write says the disk is full, with how much got written ----------------------
def test_a_short_write_says_the_disk_is_full(full_disk):
    data = np.zeros(703693, np.uint8)
    with pytest.raises(OutputError) as caught:
        write_file(full_disk / "big.bin", data, name=Path("big.png"))
    assert re.fullmatch(r"big\.png: the disk is full \(only \d+ of 703693 bytes written\)", str(caught.value))


def test_a_video_on_a_full_disk_says_the_disk_is_full(full_disk):
    out = VideoFileOutput(full_disk / "out.mkv", Fraction(30))
    with pytest.raises(OutputError) as caught:
        for index in range(200):
            image = noise((320, 240), seed=index)
            out.write(Frame(image, index * 33_000_000, index, pts=index, time_base=Fraction(1, 30)), image)
        out.close()
    out.abort()
    message = str(caught.value)
    assert message.startswith(f"{full_disk / 'out.mkv'}: ") and "the disk is full" in message, message
    assert ".partial" not in message and "Errno" not in message


# -- (d) a frame folder's error names the input, not the output -------------------------------
def test_a_frame_of_another_size_is_named(tmp_path):
    frames = media.make_frame_folder(tmp_path / "frames", 4)
    media.write_image(frames[2], media.gradient((100, 80)))
    source = ImageSequenceSource.from_folder(tmp_path / "frames")
    with pytest.raises(InputError, match=re.escape(f"{frames[2]}: is 100x80, not 320x240 like frame0.png")):
        list(source)


def test_process_names_the_odd_frame_not_the_output(tmp_path, run_cli):
    frames = media.make_frame_folder(tmp_path / "frames", 4)
    media.write_image(frames[2], media.gradient((100, 80)))
    result = run_cli("process", tmp_path / "frames", tmp_path / "out.mp4", "-q")
    assert result.rc != 0
    assert len(result.error_lines) == 1, result.stderr
    assert str(frames[2]) in result.error_lines[0] and "out.mp4" not in result.error_lines[0], result.stderr


# -- (e) libpng's warnings about colour profiles stay off the terminal ------------------------
def test_a_png_with_a_bad_profile_loads_quietly_and_the_same(tmp_path, capfd):
    picture = media.gradient((64, 48))
    path = media.write_png_with_bad_profile(tmp_path / "profiled.png", picture)
    image = load_image_rgb(path)
    assert "libpng" not in capfd.readouterr().err
    assert np.array_equal(image, picture)


@pytest.mark.parametrize("command", ["process", "remove", "run"])
@pytest.mark.slow
def test_commands_print_no_libpng_warnings(tmp_path, run_cli, command):
    photo = media.write_png_with_bad_profile(tmp_path / "bg.png", media.gradient(SIZE))
    if command == "process":
        folder = tmp_path / "frames"
        folder.mkdir()
        for i in range(3):
            media.write_png_with_bad_profile(folder / f"f{i}.png", media.portrait(SIZE, i / 30))
        args = ["process", folder, tmp_path / "out.mp4", "-b", photo, "-q"]
    elif command == "remove":
        person = media.write_png_with_bad_profile(tmp_path / "person.png", media.portrait(SIZE))
        args = ["remove", person, "-o", tmp_path / "out", "-b", photo]
    else:
        args = ["run", "--camera", "demo", "--size", "320x240", "--vcam-backend", "null", "--vcam",
                "--duration", "2", "--mic", "none", "-b", photo]
    result = run_cli(*args)
    assert result.rc == 0, result.stderr
    assert "libpng" not in result.stderr, result.stderr


# -- (f) a video background with a display rotation comes upright ------------------------------
def test_video_background_applies_the_display_rotation(tmp_path):
    coded = (160, 90)
    clip = media.make_clip(tmp_path / "phone.mp4", [media.marked_picture(coded, 36)] * 3, rotation=90)
    background = VideoBackground(clip)
    try:
        assert background.source_size == (90, 160)
        picture = background.render(np.zeros((160, 90, 3), np.uint8), 0.0)
    finally:
        background.close()
    h, w = picture.shape[:2]
    quarters = {"top-left": picture[:h // 2, :w // 2], "bottom-left": picture[h // 2:, :w // 2],
                "top-right": picture[:h // 2, w // 2:], "bottom-right": picture[h // 2:, w // 2:]}
    assert max(quarters, key=lambda name: float(quarters[name].mean())) == "bottom-left"
