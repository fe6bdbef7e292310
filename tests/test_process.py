"""`backdrop process` end to end through the command line: frame count, timestamps, audio,
outputs of every kind, and background modes."""

from __future__ import annotations

from pathlib import Path

import av
from support import media
import numpy as np
import pytest
from support.media import leftovers, probe, read_image, run_cli

PTS_TOL = 1.5e-3  # containers store ms (webm, mkv) or finer


def process(*args: object) -> media.CliResult:
    result = run_cli("process", *args)
    assert result.rc == 0, f"rc={result.rc}\n{result.stderr}"
    return result


def onset(info: media.VideoInfo, level: float = 0.05) -> float:
    """Seconds from the first video frame to the first audible sample."""
    idx = int(np.argmax(np.abs(info.audio) > level))
    assert np.abs(info.audio[idx]) > level, "no sound at all"
    return info.audio_start + idx / info.audio_rate - info.pts_seconds[0]


def assert_same_audio(out: media.VideoInfo, src: media.VideoInfo, duration_tol: float = 0.05) -> None:
    assert out.audio_codec is not None, "the audio track was dropped"
    assert out.audio_duration == pytest.approx(src.audio_duration, abs=duration_tol)
    # same content: the 440 Hz tone at the same loudness, starting at the same moment
    assert media.dominant_frequency(out.audio, out.audio_rate) == pytest.approx(media.TONE_HZ, abs=5)
    assert media.rms(out.audio) == pytest.approx(media.rms(src.audio), rel=0.1)
    assert onset(out) == pytest.approx(onset(src), abs=0.025)


def png_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- video to video -------------------------------------------------------------------------
@pytest.mark.slow
def test_mp4_to_mp4_keeps_frames_timestamps_and_audio(clip, clip_mp4_info, tmp_path):
    out = tmp_path / "out.mp4"
    result = process(clip, out)
    assert "15 frames" in result.stderr
    info = probe(out)
    assert info.frames == clip_mp4_info.frames == 15
    assert info.size == (320, 240)
    assert info.codec == "h264"
    assert info.pts_seconds == pytest.approx(clip_mp4_info.pts_seconds, abs=PTS_TOL)
    assert info.audio_codec == "aac"
    assert_same_audio(info, clip_mp4_info)
    # the picture is a composite, not a copy: the flag behind the person is blurred
    src = probe(clip, decode_audio=False).first_frame
    flag = (slice(10, 80), slice(55, 100))
    assert np.abs(info.first_frame[flag].astype(int) - src[flag]).mean() > 8
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix, vcodec, acodec", [(".mkv", "h264", "aac"), (".webm", "vp9", "opus"),
                                                    (".mov", "h264", "aac")])
@pytest.mark.slow
def test_other_containers_keep_frames_and_audio(clip, clip_mp4_info, tmp_path, suffix, vcodec, acodec):
    out = tmp_path / f"out{suffix}"
    process(clip, out, "-q")
    info = probe(out)
    assert info.frames == 15
    assert info.codec == vcodec and info.audio_codec == acodec
    relative = [t - info.pts_seconds[0] for t in info.pts_seconds]
    assert relative == pytest.approx(clip_mp4_info.pts_seconds, abs=PTS_TOL)
    assert_same_audio(info, clip_mp4_info)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".mkv", ".webm", ".mov"])
@pytest.mark.slow
def test_other_containers_keep_absolute_frame_times(clip, clip_mp4_info, tmp_path, suffix):
    """Same timestamps, not just the same spacing: the first frame stays at 0.0 s."""
    out = tmp_path / f"out{suffix}"
    process(clip, out, "-q")
    assert probe(out, decode_audio=False).pts_seconds == pytest.approx(clip_mp4_info.pts_seconds, abs=PTS_TOL)


@pytest.mark.slow
def test_audio_starting_late_keeps_its_offset(tmp_path):
    src = media.make_video(tmp_path / "late.mp4", frames=30, audio_start=0.5, audio_seconds=0.5)
    src_info = probe(src)
    assert onset(src_info) == pytest.approx(0.5, abs=0.01)
    out = tmp_path / "out.mp4"
    process(src, out, "-q")
    info = probe(out)
    assert info.frames == 30
    assert info.pts_seconds == pytest.approx(src_info.pts_seconds, abs=PTS_TOL)
    assert onset(info) == pytest.approx(0.5, abs=0.025)
    assert_same_audio(info, src_info)


@pytest.mark.slow
def test_audio_starting_late_keeps_its_offset_in_webm(tmp_path):
    """Transcoded (AAC -> Opus) audio keeps its start time too."""
    src = media.make_video(tmp_path / "late.mp4", frames=30, audio_start=0.5, audio_seconds=0.5)
    src_info = probe(src)
    out = tmp_path / "out.webm"
    process(src, out, "-q")
    info = probe(out)
    assert info.audio_codec == "opus"
    assert onset(info) == pytest.approx(0.5, abs=0.025)
    assert_same_audio(info, src_info)


def test_variable_frame_rate_keeps_irregular_pts(tmp_path):
    src = media.make_video(tmp_path / "vfr.mp4", frames=20, vfr=True)
    src_info = probe(src)
    expected = [p / 90000 for p in media.video_pts(20, 30, vfr=True)]
    assert src_info.pts_seconds == pytest.approx(expected, abs=1e-4)
    out = tmp_path / "out.mp4"
    process(src, out, "-q")
    info = probe(out)
    assert info.frames == 20
    assert info.pts_seconds == pytest.approx(expected, abs=PTS_TOL)
    assert_same_audio(info, src_info)


def test_audio_the_container_can_hold_is_copied_untouched(tmp_path):
    """MP3 from a Matroska file fits in MP4: its packets are copied, not re-encoded."""
    src = media.make_video(tmp_path / "mp3.mkv", frames=15, audio_codec="libmp3lame")
    src_info = probe(src)
    assert src_info.audio_codec in ("mp3", "mp3float")
    out = tmp_path / "out.mp4"
    process(src, out, "-q")
    info = probe(out)
    assert info.audio_codec == src_info.audio_codec, "the MP3 track was re-encoded"
    assert audio_payloads(out) == audio_payloads(src), "the MP3 packets were changed"


def audio_payloads(path) -> list[bytes]:
    """The audio packets' bytes, in order (what a stream copy must keep)."""
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(audio=0) if p.size]


def test_video_without_audio_gives_video_without_audio(tmp_path):
    src = media.make_video(tmp_path / "silent.mp4", frames=10, audio=False)
    out = tmp_path / "out.mp4"
    process(src, out, "-q")
    info = probe(out)
    assert info.frames == 10 and info.audio_codec is None


def test_matte_to_video_is_grey(clip, tmp_path):
    out = tmp_path / "matte.mkv"
    process(clip, out, "--matte", "-q")
    info = probe(out)
    assert info.frames == 15
    img = info.first_frame.astype(int)
    assert np.abs(img[..., 0] - img[..., 1]).max() <= 2 and np.abs(img[..., 0] - img[..., 2]).max() <= 2
    assert img[120, 160, 0] > 240 and img[5, 5, 0] < 15


@pytest.mark.slow
def test_transparent_webm_and_mov_hold_alpha(clip, tmp_path):
    import av

    webm, mov = tmp_path / "alpha.webm", tmp_path / "alpha.mov"
    process(clip, webm, "--background", "transparent", "-q")
    process(clip, mov, "--background", "transparent", "-q")
    with av.open(str(webm)) as c:
        assert c.streams.video[0].metadata.get("alpha_mode") == "1"
    with av.open(str(mov)) as c:
        frame = next(c.decode(video=0))
        rgba = frame.to_ndarray(format="rgba")
    assert rgba[120, 160, 3] > 240 and rgba[5, 5, 3] < 15
    assert probe(mov).frames == probe(webm).frames == 15


# -- PNG sequences --------------------------------------------------------------------------
def test_folder_output_is_a_numbered_png_sequence(clip, tmp_path):
    out = tmp_path / "frames"
    process(clip, out, "-q")
    assert png_names(out) == [f"{i:06d}.png" for i in range(15)]
    img = read_image(out / "000007.png")
    assert img.shape == (240, 320, 3)
    assert leftovers(tmp_path) == []


def test_transparent_folder_output_is_rgba(clip, tmp_path):
    out = tmp_path / "frames"
    process(clip, out, "--background", "transparent", "-q")
    assert len(png_names(out)) == 15
    img = read_image(out / "000000.png")
    assert img.shape == (240, 320, 4)
    alpha = img[..., 3]
    assert alpha[120, 160] > 240, "the person is opaque"
    assert alpha[:30, :30].max() < 15 and alpha[:30, -30:].max() < 15, "the room is transparent"


def test_matte_folder_output_is_single_channel_grey(clip, tmp_path):
    out = tmp_path / "matte"
    process(clip, out, "--matte", "-q")
    assert len(png_names(out)) == 15
    img = read_image(out / "000003.png")
    assert img.shape == (240, 320) and img.dtype == np.uint8
    assert img[120, 160] > 240 and img[:30, :30].max() < 15


def test_matte_invert_swaps_person_and_room(clip, tmp_path):
    out = tmp_path / "matte"
    process(clip, out, "--matte", "--invert", "-q")
    img = read_image(out / "000000.png")
    assert img[120, 160] < 15 and img[:30, :30].min() > 240


@pytest.mark.slow
def test_colour_background_replaces_the_room(clip, tmp_path):
    out = tmp_path / "frames"
    process(clip, out, "--background", "#00ff00", "-q")
    img = read_image(out / "000000.png").astype(int)
    corner = img[:30, :30].reshape(-1, 3)
    assert np.abs(corner - [0, 255, 0]).max() <= 3
    src = probe(clip, decode_audio=False).first_frame.astype(int)
    assert np.abs(img[100:140, 140:180] - src[100:140, 140:180]).mean() < 3, "the person is kept"


@pytest.mark.slow
def test_photo_background_with_fit(clip, tmp_path):
    photo = np.zeros((100, 400, 3), np.uint8)
    photo[:] = (255, 0, 255)
    media.write_image(tmp_path / "bg.png", photo)
    out = tmp_path / "frames"
    process(clip, out, "--background", tmp_path / "bg.png", "--fit", "contain", "-q")
    img = read_image(out / "000000.png").astype(int)
    # a 4:1 photo contained in 4:3 leaves black bars at the top and bottom
    assert np.abs(img[:10, :30] - 0).max() <= 3
    assert np.abs(img[115:125, :20] - [255, 0, 255]).max() <= 3


def test_video_background_plays_at_its_own_pace(clip, tmp_path):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]  # 10 fps
    bg = media.make_solid_clip(tmp_path / "bg.mp4", colours, fps=10, size=(64, 48))
    out = tmp_path / "frames"
    process(clip, out, "--background", bg, "-q")
    for frame_index, colour in ((0, 0), (3, 1), (6, 2), (9, 3), (12, 4)):  # input at 30 fps
        img = read_image(out / f"{frame_index:06d}.png").astype(int)
        assert np.abs(img[:20, :20].reshape(-1, 3) - colours[colour]).max() <= 12, (frame_index, img[5, 5])


# -- other inputs ---------------------------------------------------------------------------
def test_folder_of_frames_to_mp4(tmp_path):
    media.make_frame_folder(tmp_path / "frames", 8)
    out = tmp_path / "out.mp4"
    process(tmp_path / "frames", out, "--fps", "24", "-q")
    info = probe(out)
    assert info.frames == 8 and info.audio_codec is None
    assert info.pts_seconds == pytest.approx([i / 24 for i in range(8)], abs=PTS_TOL)


def test_single_image_to_folder(portrait_png, tmp_path):
    out = tmp_path / "one"
    process(portrait_png, out, "--background", "white", "-q")
    assert png_names(out) == ["000000.png"]
    assert read_image(out / "000000.png").shape == (240, 320, 3)


def test_demo_for_one_second(tmp_path):
    out = tmp_path / "demo.mp4"
    process("demo", out, "--duration", "1", "--size", "320x240", "-q")
    info = probe(out)
    assert info.frames == 30 and info.size == (320, 240)
    assert info.pts_seconds == pytest.approx([i / 30 for i in range(30)], abs=PTS_TOL)


# -- overwriting ----------------------------------------------------------------------------
def test_overwrite_replaces_an_existing_file(clip, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    process(clip, out, "--overwrite", "-q")
    assert probe(out).frames == 15
    assert leftovers(tmp_path) == []


def test_overwrite_replaces_an_existing_folder(clip, tmp_path):
    out = tmp_path / "frames"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")
    process(clip, out, "-y", "-q")
    assert png_names(out) == [f"{i:06d}.png" for i in range(15)]
    assert leftovers(tmp_path) == []


# -- errors of this command -----------------------------------------------------------------
def test_transparent_to_mp4_is_a_clear_error(clip, tmp_path):
    out = tmp_path / "out.mp4"
    result = run_cli("process", clip, out, "--background", "transparent")
    assert result.rc == 1
    assert result.stderr.strip().count("\n") == 0
    line = result.stderr.strip()
    assert line.startswith("backdrop: error:") and str(out) in line and "transparency" in line
    assert not out.exists() and leftovers(tmp_path) == []


def test_an_odd_frame_size_is_padded_to_even_and_said(tmp_path):
    out = tmp_path / "out.mp4"
    result = run_cli("process", "demo", out, "--size", "321x240", "--duration", "0.2")
    assert result.rc == 0, result.stderr
    assert str(out) in result.stderr and "322x240" in result.stderr
    assert probe(out).size == (322, 240) and leftovers(tmp_path) == []


@pytest.mark.parametrize("option", [["--threshold", "1.5"], ["--feather", "-2"], ["--background", "blur:-1"],
                                    ["--size", "12"], ["--fit", "zoom"]])
def test_malformed_options_exit_2(clip, tmp_path, option):
    out = tmp_path / "out.mp4"
    result = run_cli("process", clip, out, *option)
    assert result.rc == 2, result.stderr
    assert "error" in result.stderr
    assert not out.exists() and leftovers(tmp_path) == []
