"""Phone clips with a display rotation come out upright: from the file source (`process`),
from the real-time file source (`run --camera FILE`), and in what `process` writes, with
the matte computed on the upright person."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import media

from app.engine.imaging.media import display_rotation
from app.engine.sources import RealtimeFileSource, VideoFileSource

CODED = (160, 90)  # width, height as coded; 90x160 once turned a quarter
BLOCK = 36  # the bright square starts in the coded picture's top-left corner
# counter-clockwise degrees (as written) -> (degrees applied, where the square ends up)
CASES = {90: (90, "bottom-left"), -90: (270, "top-right"), 270: (270, "top-right"),
         180: (180, "bottom-right")}


def brightest_corner(image: np.ndarray) -> str:
    """Which quarter of an RGB picture is the brightest."""
    h, w = image.shape[:2]
    quarters = {"top-left": image[:h // 2, :w // 2], "top-right": image[:h // 2, w // 2:],
                "bottom-left": image[h // 2:, :w // 2], "bottom-right": image[h // 2:, w // 2:]}
    return max(quarters, key=lambda name: float(quarters[name].mean()))


def rotated_clip(path: Path, degrees: int, frames: int = 4) -> Path:
    picture = media.marked_picture(CODED, BLOCK)
    return media.make_clip(path, [picture] * frames, rotation=degrees)


def upright_size(degrees: int) -> tuple[int, int]:
    return CODED if degrees == 180 else (CODED[1], CODED[0])


@pytest.mark.parametrize("degrees", sorted(CASES))
def test_file_source_turns_frames_upright(tmp_path, degrees):
    clip = rotated_clip(tmp_path / "phone.mp4", degrees)
    applied, corner = CASES[degrees]
    assert display_rotation(clip) == applied
    source = VideoFileSource(clip)
    try:
        assert source.size == upright_size(degrees)
        frames = list(source)
    finally:
        source.close()
    assert len(frames) == 4
    for frame in frames:
        assert frame.image.shape[1::-1] == upright_size(degrees)
        assert frame.image.flags.c_contiguous
        assert brightest_corner(frame.image) == corner


def test_unrotated_clip_is_left_as_it_is(tmp_path):
    clip = rotated_clip(tmp_path / "plain.mp4", 0)
    assert display_rotation(clip) == 0
    source = VideoFileSource(clip)
    try:
        assert source.size == CODED
        assert brightest_corner(next(iter(source)).image) == "top-left"
    finally:
        source.close()


def test_old_style_rotate_tag_is_read_when_there_is_no_display_matrix(tmp_path):
    clip = rotated_clip(tmp_path / "tagged.mkv", 0)
    tagged = tmp_path / "tagged-rotate.mkv"
    import av  # remux with a "rotate" tag (clockwise degrees), as old phones and FFmpeg wrote it

    with av.open(str(clip)) as inp, av.open(str(tagged), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        stream.metadata["rotate"] = "90"
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    assert display_rotation(tagged) == 270  # 90 clockwise


@pytest.mark.parametrize("degrees", [-90, 180])
def test_realtime_file_source_turns_frames_upright(tmp_path, degrees):
    clip = rotated_clip(tmp_path / "phone.mp4", degrees, frames=6)
    source = RealtimeFileSource(clip)
    try:
        assert source.size == upright_size(degrees)
        frames = list(source)
    finally:
        source.close()
    assert frames, "the live source delivered nothing"
    for frame in frames:
        assert frame.image.shape[1::-1] == upright_size(degrees)
        assert brightest_corner(frame.image) == CASES[degrees][1]


@pytest.mark.slow
def test_process_writes_a_rotated_clip_upright(tmp_path):
    clip = rotated_clip(tmp_path / "phone.mp4", -90)
    out = tmp_path / "out.mp4"
    result = media.run_cli("process", clip, out, "--quiet")
    assert result.rc == 0, result.stderr
    info = media.probe(out, decode_audio=False)
    assert info.size == (90, 160) and info.frames == 4
    assert brightest_corner(info.first_frame) == "top-right"


@pytest.mark.slow
def test_the_matte_is_computed_on_the_upright_person(tmp_path):
    size = (160, 96)
    upright = [media.portrait(size, i / 10) for i in range(3)]
    # coded lying on its side, with a display matrix that turns it clockwise back upright
    lying = [np.ascontiguousarray(np.rot90(img, 1)) for img in upright]
    plain = media.make_clip(tmp_path / "upright.mp4", upright)
    phone = media.make_clip(tmp_path / "phone.mp4", lying, rotation=-90)
    mattes = {}
    for name, clip in (("upright", plain), ("phone", phone)):
        out = tmp_path / f"{name}-matte.mp4"
        result = media.run_cli("process", clip, out, "--matte", "--quiet")
        assert result.rc == 0, result.stderr
        info = media.probe(out, decode_audio=False)
        assert info.size == size
        mattes[name] = info.first_frame[..., 0].astype(np.float32)
    assert mattes["upright"].mean() > 20, "the portrait has a person in it"
    assert np.abs(mattes["phone"] - mattes["upright"]).mean() < 8, "same person, same matte"
