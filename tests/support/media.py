"""Media made on the fly for the tests: videos of the demo portrait with a tone track,
frame folders, photos, and readers that decode outputs back for comparison."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np

from app.engine.sources.demo import demo_canvas, demo_frame

REPO = Path(__file__).resolve().parents[2]
TONE_HZ = 440.0
SAMPLE_RATE = 48000
DEFAULT_SIZE = (320, 240)


# -- pictures ------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _canvas(size: tuple[int, int]) -> np.ndarray:
    return demo_canvas(size)


def portrait(size: tuple[int, int] = DEFAULT_SIZE, seconds: float = 0.0) -> np.ndarray:
    """RGB uint8 view of the demo portrait (a real person) at `size`."""
    return demo_frame(_canvas(size), size, seconds).copy()


def gradient(size: tuple[int, int] = DEFAULT_SIZE) -> np.ndarray:
    """An RGB picture with no person in it: a smooth horizontal/vertical colour ramp."""
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    img = np.empty((h, w, 3), np.uint8)
    img[..., 0] = np.broadcast_to(x, (h, w)).astype(np.uint8)
    img[..., 1] = np.broadcast_to(y, (h, w)).astype(np.uint8)
    img[..., 2] = 90
    return img


def write_image(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB (or RGBA) uint8 array with OpenCV (format by extension)."""
    code = cv2.COLOR_RGBA2BGRA if rgb.ndim == 3 and rgb.shape[2] == 4 else cv2.COLOR_RGB2BGR
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, code)), path
    return path


def read_image(path: Path) -> np.ndarray:
    """Read a file as stored (grey, BGR->RGB or BGRA->RGBA)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, f"cannot read {path}"
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA if img.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return img


# -- audio ---------------------------------------------------------------------------------
def make_tone(seconds: float, rate: int = SAMPLE_RATE, freq: float = TONE_HZ, amplitude: float = 0.5,
              channels: int = 2) -> np.ndarray:
    """A sine tone as float32 planar samples, shape (channels, n)."""
    n = int(round(seconds * rate))
    t = np.arange(n, dtype=np.float64) / rate
    mono = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(mono[None, :], channels, axis=0)


# -- video ---------------------------------------------------------------------------------
def make_video(path: Path, frames: int = 15, size: tuple[int, int] = DEFAULT_SIZE, fps: int = 30,
               audio: bool = True, audio_start: float = 0.0, vfr: bool = False,
               images: list[np.ndarray] | None = None, codec: str | None = None,
               audio_seconds: float | None = None, audio_codec: str | None = None) -> Path:
    """A short video of the swaying portrait.

    `vfr` gives irregular frame times (gaps of 1, 2 or 3 ticks of 1/fps, in a 1/90000 time
    base); `audio` adds a 440 Hz AAC (Opus for .webm) tone from `audio_start` seconds,
    lasting as long as the video unless `audio_seconds` is given (`audio_codec` picks another
    encoder, e.g. libmp3lame). `images` replaces the portrait frames. Returns `path`.
    """
    w, h = size
    suffix = path.suffix.lower()
    vcodec = codec or ("libvpx-vp9" if suffix == ".webm" else "libx264")
    acodec = audio_codec or ("libopus" if suffix == ".webm" else "aac")
    pts_list = video_pts(frames, fps, vfr)
    time_base = Fraction(1, 90000)
    with av.open(str(path), mode="w") as container:
        vs = container.add_stream(vcodec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.time_base = time_base
        vs.codec_context.time_base = time_base
        if vcodec == "libx264":
            vs.options = {"preset": "ultrafast", "crf": "18"}
        elif vcodec == "libvpx-vp9":
            vs.options = {"deadline": "realtime", "cpu-used": "8"}
        astream = None
        if audio:
            astream = container.add_stream(acodec, rate=SAMPLE_RATE)
            astream.layout = "stereo"
        video_len = (pts_list[-1] * time_base) + Fraction(1, fps)
        tone = make_tone(float(audio_seconds if audio_seconds is not None else video_len)) if audio else None
        # video first (audio is muxed after; the muxer interleaves by time)
        for i, pts in enumerate(pts_list):
            img = images[i] if images is not None else portrait(size, i / fps)
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = pts, time_base
            for packet in vs.encode(vf):
                container.mux(packet)
        for packet in vs.encode(None):
            container.mux(packet)
        if astream is not None:
            chunk = 960
            start = int(round(audio_start * SAMPLE_RATE))
            for off in range(0, tone.shape[1], chunk):
                block = np.ascontiguousarray(tone[:, off:off + chunk])
                af = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                af.sample_rate = SAMPLE_RATE
                af.pts = start + off
                af.time_base = Fraction(1, SAMPLE_RATE)
                for packet in astream.encode(af):
                    container.mux(packet)
            for packet in astream.encode(None):
                container.mux(packet)
    return path


def video_pts(frames: int, fps: int, vfr: bool = False) -> list[int]:
    """The pts (1/90000) make_video gives its frames."""
    tick = 90000 // fps
    if not vfr:
        return [i * tick for i in range(frames)]
    gaps = [1, 3, 1, 2, 1, 1, 3, 2]
    pts, t = [], 0
    for i in range(frames):
        pts.append(t)
        t += tick * gaps[i % len(gaps)]
    return pts


def make_solid_clip(path: Path, colours: list[tuple[int, int, int]], fps: int = 10,
                    size: tuple[int, int] = (64, 48)) -> Path:
    """A video whose frames are the given solid colours, one frame each, at `fps`."""
    images = []
    for c in colours:
        img = np.empty((size[1], size[0], 3), np.uint8)
        img[:] = c
        images.append(img)
    return make_video(path, frames=len(colours), size=size, fps=fps, audio=False, images=images)


def make_frame_folder(folder: Path, count: int, size: tuple[int, int] = DEFAULT_SIZE, ext: str = "png",
                      pattern: str = "frame{}") -> list[Path]:
    """`count` portrait frames named frame0.png, frame1.png, ... (unpadded: natural order)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [write_image(folder / f"{pattern.format(i)}.{ext}", portrait(size, i / 30)) for i in range(count)]


# -- reading outputs back -------------------------------------------------------------------
@dataclass
class VideoInfo:
    frames: int
    pts_seconds: list[float]
    size: tuple[int, int]
    codec: str
    pix_fmt: str
    audio_codec: str | None
    audio_start: float | None
    audio_duration: float | None
    audio: np.ndarray | None  # mono float32 at audio_rate
    audio_rate: int | None
    container: str
    first_frame: np.ndarray | None = None


def probe(path: Path, decode_audio: bool = True) -> VideoInfo:
    """Decode a video file entirely: video frame times and size, and the audio as mono float."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        pts, first = [], None
        for vf in c.decode(vs):
            pts.append(float(vf.pts * vf.time_base))
            if first is None:
                first = vf.to_ndarray(format="rgb24")
        fmt = c.format.name
        codec = vs.codec_context.name
        pix_fmt = vs.codec_context.pix_fmt
        size = (vs.codec_context.width, vs.codec_context.height)
    acodec = astart = adur = samples = arate = None
    if decode_audio:
        with av.open(str(path)) as c:
            if c.streams.audio:
                a = c.streams.audio[0]
                acodec = a.codec_context.name
                arate = a.codec_context.sample_rate
                chunks, first_t, end_t = [], None, None
                for af in c.decode(a):
                    arr = af.to_ndarray()
                    if arr.ndim == 2 and not af.format.is_planar:
                        arr = arr.reshape(-1, len(af.layout.channels)).T
                    mono = arr.astype(np.float32).mean(axis=0) if arr.ndim == 2 else arr.astype(np.float32)
                    if af.format.name.startswith("s16"):
                        mono = mono / 32768.0
                    chunks.append(mono)
                    t = float(af.pts * af.time_base) if af.pts is not None else None
                    if t is not None:
                        first_t = t if first_t is None else min(first_t, t)
                        end_t = t + af.samples / af.sample_rate if end_t is None else max(end_t, t + af.samples / af.sample_rate)
                samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
                astart = first_t
                adur = (end_t - first_t) if first_t is not None else None
    return VideoInfo(len(pts), pts, size, codec, pix_fmt, acodec, astart, adur, samples, arate, fmt, first)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """Frequency (Hz) of the strongest spectral peak of `samples`."""
    x = samples - samples.mean()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1.0 / rate)[int(np.argmax(spectrum))])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def faststart(src: Path, dst: Path) -> Path:
    """`src` remuxed with its index (moov) first, as web videos are: it opens when cut short."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return dst


# -- command line ----------------------------------------------------------------------------
@dataclass
class CliResult:
    rc: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.strip().lstrip("\r").startswith("backdrop: error:")]


def run_cli(*args: object, cwd: Path | None = None, timeout: float = 120) -> CliResult:
    """`python -m app ARGS...` in a subprocess, from the repository root."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=str(cwd or REPO),
                          capture_output=True, text=True, timeout=timeout, env=env)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def leftovers(folder: Path) -> list[str]:
    """Names of temporary (.partial) files or folders anywhere under `folder`."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if ".partial" in p.name)


# -- clips with a display rotation, or of any size -------------------------------------------
def marked_picture(size: tuple[int, int], block: int = 12) -> np.ndarray:
    """A dark RGB picture with a bright `block`-pixel square in its top-left corner, so that
    a rotation or flip of it can be told from its result."""
    w, h = size
    img = np.full((h, w, 3), 40, np.uint8)
    img[:block, :block] = 230
    return img


def make_clip(path: Path, images: list[np.ndarray], fps: int = 10, rotation: int = 0,
              pix_fmt: str = "yuv420p") -> Path:
    """A video (H.264; VP9 for .webm) of `images`, no audio. `rotation` (degrees,
    counter-clockwise, as `VideoFrame.rotation` reads it back) is written as the stream's
    display matrix, as phones do; `pix_fmt` yuv444p allows odd sizes. Returns `path`."""
    h, w = images[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        vs = container.add_stream("libvpx-vp9" if path.suffix.lower() == ".webm" else "libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        vs.options = {"deadline": "realtime", "cpu-used": "8"} if path.suffix.lower() == ".webm" \
            else {"preset": "ultrafast", "crf": "18"}
        if rotation:
            vs.set_display_rotation(rotation)
        for i, img in enumerate(images):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            for packet in vs.encode(vf):
                container.mux(packet)
        for packet in vs.encode(None):
            container.mux(packet)
    return path


# -- pictures that third-party decoders complain about ---------------------------------------
def write_png_with_bad_profile(path: Path, rgb: np.ndarray) -> Path:
    """A PNG of `rgb` carrying an iCCP chunk whose ICC profile is malformed (too short), the
    kind libpng warns about on stderr ("libpng warning: iCCP: ..."). Returns `path`."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    png = encoded.tobytes()
    profile = bytearray(132)  # a header with nothing after it
    struct.pack_into(">I", profile, 0, len(profile))
    profile[12:24], profile[36:40] = b"mntrRGB XYZ ", b"acsp"
    ihdr_end = 8 + 25  # signature, then IHDR (length, type, 13 bytes, CRC)
    path.write_bytes(png[:ihdr_end] + chunk(b"iCCP", b"sRGB\0\0" + zlib.compress(bytes(profile))) + png[ihdr_end:])
    return path
