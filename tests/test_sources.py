"""Sources: video files keep their timing, frame folders play in natural order, live sources
hand over only the newest frame."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

from support import media
import numpy as np
import pytest

from app.engine.core.errors import InputError
from app.engine.core.frame import Frame, now_ns
from app.engine.core.slots import LatestSlot
from app.engine.sources import (
    CameraSource,
    DemoSource,
    ImageSequenceSource,
    LiveDemoSource,
    LiveSource,
    VideoFileSource,
    list_images,
    open_source,
    parse_camera,
)


def backdrop_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("backdrop-") and t.is_alive()]


# -- video files ----------------------------------------------------------------------------
def test_video_file_keeps_every_frame_and_its_pts(clip_mp4, clip_mp4_info):
    src = VideoFileSource(clip_mp4)
    try:
        assert src.expected_frames == 15
        assert src.size == (320, 240)
        assert src.frame_rate == 30
        assert src.audio_path == clip_mp4
        frames = list(src)
    finally:
        src.close()
    assert [f.index for f in frames] == list(range(15))
    assert all(f.time_base == src.time_base for f in frames)
    assert [f.seconds for f in frames] == pytest.approx(clip_mp4_info.pts_seconds, abs=1e-6)
    assert frames[0].image.shape == (240, 320, 3) and frames[0].image.dtype == np.uint8


def test_variable_frame_rate_file_keeps_irregular_pts(tmp_path):
    path = media.make_video(tmp_path / "vfr.mp4", frames=12, vfr=True, audio=False)
    expected = [p / 90000 for p in media.video_pts(12, 30, vfr=True)]
    src = VideoFileSource(path)
    try:
        assert src.audio_path is None
        seconds = [f.seconds for f in src]
    finally:
        src.close()
    assert seconds == pytest.approx(expected, abs=1e-4)
    gaps = np.round(np.diff(seconds) * 30).astype(int)
    assert set(gaps) == {1, 2, 3}


def test_video_file_close_twice(clip_mp4):
    src = VideoFileSource(clip_mp4)
    src.close()
    src.close()


@pytest.mark.parametrize("content, reason", [
    (None, "no such file"),
    (b"", "not a readable video"),
    (b"definitely not a video" * 50, "not a readable video"),
])
def test_unreadable_video_file_is_an_input_error(tmp_path, content, reason):
    path = tmp_path / "input.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as info:
        VideoFileSource(path)
    assert str(path) in str(info.value) and reason in str(info.value)


def test_folder_given_as_video_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as info:
        VideoFileSource(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_audio_only_file_is_an_input_error(tmp_path):
    import av

    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=48000)
        s.layout = "stereo"
        tone = media.make_tone(0.2)
        af = av.AudioFrame.from_ndarray(tone, format="fltp", layout="stereo")
        af.sample_rate, af.pts = 48000, 0
        for p in s.encode(af):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    with pytest.raises(InputError) as info:
        VideoFileSource(path)
    assert str(path) in str(info.value) and "no video" in str(info.value)


# -- frame folders --------------------------------------------------------------------------
def test_image_sequence_natural_order(tmp_path):
    for i in (10, 2, 1, 0, 33, 3):
        img = np.full((16, 24, 3), i, np.uint8)
        media.write_image(tmp_path / f"frame{i}.png", img)
    media.write_image(tmp_path / "FRAME4.PNG", np.full((16, 24, 3), 4, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub.png").mkdir()  # a folder with an image-like name is not a frame
    names = [p.name for p in list_images(tmp_path)]
    assert names == ["frame0.png", "frame1.png", "frame2.png", "frame3.png", "FRAME4.PNG",
                     "frame10.png", "frame33.png"]
    src = ImageSequenceSource.from_folder(tmp_path, Fraction(25))
    assert src.expected_frames == 7 and src.frame_rate == 25
    frames = list(src)
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 1, 2, 3, 4, 10, 33]
    assert [f.pts for f in frames] == list(range(7))
    assert frames[3].seconds == pytest.approx(3 / 25)


def test_folder_with_no_images_is_an_input_error(tmp_path):
    (tmp_path / "readme.txt").write_text("no frames here")
    with pytest.raises(InputError) as info:
        list_images(tmp_path)
    assert str(tmp_path) in str(info.value) and "no images" in str(info.value)


def test_corrupt_frame_in_a_sequence_names_the_file(tmp_path):
    media.make_frame_folder(tmp_path, 2, size=(32, 24))
    bad = tmp_path / "frame2.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    src = ImageSequenceSource.from_folder(tmp_path)
    it = iter(src)
    next(it), next(it)
    with pytest.raises(InputError) as info:
        next(it)
    assert str(bad) in str(info.value)


# -- open_source ----------------------------------------------------------------------------
def test_open_source_dispatch(tmp_path, clip_mp4, portrait_png):
    media.make_frame_folder(tmp_path / "frames", 3, size=(32, 24))
    demo = open_source("demo", size=(160, 120), fps=24, duration=0.5)
    assert isinstance(demo, DemoSource) and demo.expected_frames == 12
    folder = open_source(str(tmp_path / "frames"), fps=12)
    assert isinstance(folder, ImageSequenceSource) and folder.frame_rate == 12 and folder.expected_frames == 3
    single = open_source(str(portrait_png))
    assert isinstance(single, ImageSequenceSource) and single.expected_frames == 1
    video = open_source(str(clip_mp4))
    assert isinstance(video, VideoFileSource)
    video.close()


@pytest.mark.parametrize("spec, device", [
    ("camera", 0), ("camera:2", 2), ("camera:/dev/video5", "/dev/video5"), ("/dev/video3", "/dev/video3"),
    ("demo", None), ("clip.mp4", None),
])
def test_parse_camera(spec, device):
    assert parse_camera(spec) == device


def test_demo_source_frames_and_timing():
    src = DemoSource(size=(160, 120), frame_rate=Fraction(30), duration=1.0)
    frames = list(src)
    assert len(frames) == 30 == src.expected_frames
    assert [f.pts for f in frames] == list(range(30))
    assert frames[-1].seconds == pytest.approx(29 / 30)
    assert frames[0].image.shape == (120, 160, 3)
    assert not np.array_equal(frames[0].image, frames[-1].image), "the demo sways"


# -- the newest-frame slot ------------------------------------------------------------------
def make_frame(index: int) -> Frame:
    return Frame(image=np.zeros((2, 2, 3), np.uint8), capture_ns=now_ns(), index=index)


def test_slot_get_times_out_when_empty():
    slot = LatestSlot()
    t0 = time.monotonic()
    assert slot.get(timeout=0.05) is None
    assert time.monotonic() - t0 >= 0.04


def test_slot_keeps_only_the_newest_and_counts_drops():
    slot = LatestSlot()
    for i in range(4):
        slot.put(make_frame(i))
    assert slot.dropped == 3
    assert slot.get(timeout=0).index == 3
    assert slot.get(timeout=0.01) is None, "a frame is handed out once"
    slot.put(make_frame(4))
    assert slot.get(timeout=0).index == 4
    assert slot.dropped == 3


def test_slot_wakes_a_waiting_reader():
    slot = LatestSlot()
    timer = threading.Timer(0.05, slot.put, args=(make_frame(7),))
    timer.start()
    got = slot.get(timeout=2.0)
    timer.join()
    assert got is not None and got.index == 7


def test_slot_close_drains_then_ends():
    slot = LatestSlot()
    slot.put(make_frame(1))
    slot.close()
    assert slot.get(timeout=1).index == 1
    t0 = time.monotonic()
    assert slot.get(timeout=1) is None
    assert time.monotonic() - t0 < 0.5, "a closed, empty slot must not wait"


# -- live sources ---------------------------------------------------------------------------
def test_live_demo_drops_stale_frames_under_a_slow_consumer():
    src = LiveDemoSource(size=(320, 240), frame_rate=Fraction(60))
    taken: list[Frame] = []
    ages: list[float] = []
    try:
        for frame in src:
            ages.append((now_ns() - frame.capture_ns) / 1e9)
            taken.append(frame)
            if len(taken) == 6:
                break
            time.sleep(0.1)  # a consumer at 10 fps behind a 60 fps source
        dropped = src.dropped
    finally:
        src.close()
    indices = [f.index for f in taken]
    assert all(b > a for a, b in zip(indices, indices[1:])), indices
    gaps = np.diff(indices)
    assert gaps.max() >= 3 and np.median(gaps) >= 3, indices  # ~6 frames per 0.1 s
    assert dropped > 0
    assert dropped >= indices[-1] - indices[0] - (len(indices) - 1) - 1
    # the consumer sees what is current, not a frame that queued up behind it
    assert max(ages[1:]) < 0.08, ages
    assert backdrop_threads() == []


def test_live_source_close_stops_its_thread_and_is_idempotent():
    src = LiveDemoSource(size=(160, 120), frame_rate=Fraction(30))
    src.start()
    assert any(name.startswith("backdrop-source") for name in backdrop_threads())
    src.close()
    src.close()
    assert backdrop_threads() == []


@pytest.mark.parametrize("device", ["/dev/video99", 99])
def test_missing_camera_is_an_input_error_naming_it(device):
    with pytest.raises(InputError) as info:
        CameraSource(device, size=(320, 240))
    assert f"camera {device}" in str(info.value)


class BrokenLiveSource(LiveSource):
    """Three frames, then its capture loop fails."""

    def __init__(self) -> None:
        super().__init__("broken", Fraction(100))

    def _capture(self):
        for index in range(3):
            time.sleep(0.01)
            yield make_frame(index)
        raise InputError("broken.mp4: cannot be decoded")


def test_a_live_source_that_fails_says_so_to_its_reader():
    src = BrokenLiveSource()
    got = []
    try:
        with pytest.raises(InputError, match="broken.mp4"):
            for frame in src:
                got.append(frame.index)
        assert got and got == sorted(got)
        assert src.ended and isinstance(src.error, InputError)
    finally:
        src.close()
    assert backdrop_threads() == []


def test_a_live_source_that_ends_by_itself_is_not_an_error():
    class Short(LiveSource):
        def _capture(self):
            yield make_frame(0)

    src = Short("short", Fraction(30))
    try:
        assert [f.index for f in src] == [0]
        assert src.ended and src.error is None
    finally:
        src.close()
