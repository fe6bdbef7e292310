"""Writes composited frames to a video file (container by extension) with the source's
audio carried over in sync."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from app.engine.audio.delay_line import DelayLine
from app.engine.audio.muxing import LiveAudioTrack
from app.engine.core.errors import OutputError
from app.engine.core.frame import Frame
from app.engine.imaging.images import write_reason
from app.engine.outputs.atomic import commit, discard, partial_path
from app.engine.outputs.audio_carry import AudioCarrier

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm"}
LIVE_TIME_BASE = Fraction(1, 90000)
log = logging.getLogger("backdrop.output")


def container_for(path: Path) -> str:
    """FFmpeg muxer name for `path`'s extension; OutputError for anything else."""
    fmt = CONTAINERS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(f"{path}: unsupported video extension {path.suffix or '(none)'} "
                          f"(use {', '.join(sorted(CONTAINERS))})")
    return fmt


def check_alpha_support(path: Path) -> None:
    """Transparent video needs a container and codec with an alpha channel."""
    if container_for(path) not in ("webm", "mov"):
        raise OutputError(f"{path}: {path.suffix} cannot hold transparency; use .webm, .mov, "
                          "or a folder for a PNG sequence")


def to_video_frame(image: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """An encoder-ready frame from grey, RGB or RGBA uint8. RGB to YUV 4:2:0 is done by
    OpenCV (BT.601, limited range, as FFmpeg would), about 5x faster than swscale."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if pix_fmt == "yuv420p" and image.shape[2] == 3:
        return av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
    return av.VideoFrame.from_ndarray(image, format="rgba" if image.shape[2] == 4 else "rgb24")


class VideoFileOutput:
    """H.264 in mp4/mkv/mov (VP9 in webm; PNG-in-mov or VP9 with alpha when `alpha`).

    Frames are written with the pts/time_base they came with, so the output has one frame
    per input frame at the same times. Odd sizes, which 4:2:0 codecs cannot take, are padded
    by one pixel to even (161x121 is written 162x122), with a warning naming the file. Written to a temporary name, renamed on `close()`;
    `abort()` deletes it.
    """

    def __init__(self, path: Path, frame_rate: Fraction, *, audio_from: Path | None = None,
                 alpha: bool = False, crf: int = 20, recording: bool = False,
                 live_audio: "DelayLine | None" = None) -> None:
        """`recording=True` is for live recordings: written in place (not renamed at the
        end) as fragmented MP4 / Matroska, so the file plays while it grows, with a keyframe
        every 2 s and no encoder look-ahead. `live_audio`, a microphone tap
        (`LiveAudio.tap()`), adds its sound as AAC (Opus in WebM), placed by capture time."""
        self.path, self.recording = path, recording
        self.label = f"recording {path}" if recording else f"video {path}"  # what errors call it
        self._format = container_for(path)
        if alpha:
            check_alpha_support(path)
        self._alpha, self._frame_rate, self._crf = alpha, frame_rate, crf
        self._audio_from = audio_from
        self._live_audio = live_audio
        self._live_track = None
        self._last_capture_ns: int | None = None
        self._partial = path if recording else partial_path(path)
        container_options = {"movflags": "frag_keyframe+empty_moov+default_base_moof"} \
            if recording and self._format in ("mp4", "mov") else {}
        if self._format == "matroska":
            # keep absolute times: AAC's priming packet is at a negative time, and FFmpeg would
            # otherwise shift every stream later to make it non-negative
            container_options["avoid_negative_ts"] = "disabled"
        try:
            with open(self._partial, "wb" if recording else "xb"):
                pass  # PyAV opens lazily; find out now whether the file can be created
            self._container = av.open(str(self._partial), mode="w", format=self._format,
                                      options=container_options)
        except (av.FFmpegError, OSError) as exc:
            if not recording:
                discard(self._partial)
            raise OutputError(f"{path}: cannot be written ({write_reason(exc)})") from None
        self._stream: av.VideoStream | None = None
        self._audio: AudioCarrier | None = None
        self._time_base: Fraction | None = None
        self._first_capture_ns: int | None = None
        self._last_pts: int | None = None
        self._closed = False
        self._size: tuple[int, int] = (0, 0)  # of the pictures given, before any padding
        self._pad: tuple[int, int] = (0, 0)  # columns, rows added to make the size even

    def _open_stream(self, frame: Frame, width: int, height: int) -> None:
        if self._format == "webm":
            codec, pix_fmt = "libvpx-vp9", ("yuva420p" if self._alpha else "yuv420p")
            options = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": str(self._crf + 10), "b": "0"}
        elif self._alpha:
            codec, pix_fmt, options = "png", "rgba", {}
        else:
            codec, pix_fmt = "libx264", "yuv420p"
            options = {"preset": "veryfast", "crf": str(self._crf)}
        if self.recording:
            options.update({"g": str(max(1, round(2 * float(self._frame_rate))))})
            if codec == "libx264":
                options["tune"] = "zerolatency"
        self._time_base = frame.time_base or LIVE_TIME_BASE
        stream = self._container.add_stream(codec, rate=self._frame_rate, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.time_base = self._time_base
        stream.codec_context.time_base = self._time_base
        stream.thread_type = "AUTO"
        self._stream = stream
        if self._audio_from is not None:
            self._audio = AudioCarrier(self._audio_from, self._container, self._format)
        elif self._live_audio is not None:
            self._live_track = LiveAudioTrack(self._container, self._live_audio, frame.capture_ns,
                                              codec="libopus" if self._format == "webm" else "aac")

    def write(self, frame: Frame, image: np.ndarray) -> None:
        """Encode `image` (RGB, or RGBA for alpha output) at `frame`'s time."""
        height, width = image.shape[:2]
        if self._stream is None:
            self._size = (width, height)
            self._pad = (0, 0) if self._alpha and self._format != "webm" else (width % 2, height % 2)
            if any(self._pad):
                log.warning("%s: frame size %dx%d is odd, which this codec cannot take; padded to %dx%d",
                            self.path, width, height, width + self._pad[0], height + self._pad[1])
            self._open_stream(frame, width + self._pad[0], height + self._pad[1])
        elif (width, height) != self._size:
            raise OutputError(f"{self.path}: frame {frame.index} is {width}x{height}, "
                              f"not {self._size[0]}x{self._size[1]} like the first")
        if any(self._pad):  # repeat the last column/row: the edge does not show a dark line
            image = cv2.copyMakeBorder(image, 0, self._pad[1], 0, self._pad[0], cv2.BORDER_REPLICATE)
        pts = self._pts(frame)
        vf = to_video_frame(image, self._stream.pix_fmt)
        vf.pts, vf.time_base = pts, self._time_base
        try:
            if self._audio is not None:
                self._audio.advance_to(float(pts * self._time_base) + 0.5)
            if self._live_track is not None:
                self._live_track.write_until(frame.capture_ns)
                self._last_capture_ns = frame.capture_ns
            for packet in self._stream.encode(vf):
                self._container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            if getattr(exc, "filename", None) not in (None, str(self._partial)):
                raise  # reading the sound to carry over failed: not this file's fault
            raise OutputError(f"{self.path}: cannot be written ({write_reason(exc)})") from None

    def _pts(self, frame: Frame) -> int:
        if frame.pts is not None and frame.time_base == self._time_base:
            pts = frame.pts
        else:
            if self._first_capture_ns is None:
                self._first_capture_ns = frame.capture_ns
            pts = round((frame.capture_ns - self._first_capture_ns) * 1e-9 / float(self._time_base))
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1  # encoders need strictly increasing times
        self._last_pts = pts
        return pts

    def close(self) -> None:
        """Flush, finalise and move the file into place; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._stream is None:
                raise OutputError(f"{self.path}: no frames to write")
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            if self._audio is not None:
                self._audio.finish()
            if self._live_track is not None and self._last_capture_ns is not None:
                self._live_track.finish(self._last_capture_ns + int(1e9 / float(self._frame_rate)))
            self._container.close()
        except BaseException as exc:
            try:
                self._container.close()
            except (av.FFmpegError, OSError):
                pass
            if not self.recording:
                discard(self._partial)
            if isinstance(exc, (av.FFmpegError, OSError)):
                raise OutputError(f"{self.path}: cannot be finalised ({write_reason(exc)})") from None
            raise
        if not self.recording:
            commit(self._partial, self.path)

    def abort(self) -> None:
        """Stop and delete the unfinished file; safe after close."""
        if self._closed:
            return
        self._closed = True
        if self._audio is not None:
            self._audio.close()
        try:
            self._container.close()
        except Exception:
            pass
        if not self.recording:
            discard(self._partial)
