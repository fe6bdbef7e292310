"""Opening the parts of a live pipeline from LiveSettings. Where a part cannot be had, the
warning goes to `warn` (one line a user can act on) and a stand-in is used if one exists."""

from __future__ import annotations

from collections.abc import Callable

from app.engine.audio.file_audio import FileAudio
from app.engine.audio.live_audio import LiveAudio, loopback_hint
from app.engine.backgrounds.base import Background, BlurBackground
from app.engine.backgrounds.spec import parse_background
from app.engine.compositing.base import Compositor
from app.engine.compositing.choose import make_compositor
from app.engine.core.errors import BackdropError, SettingsError
from app.engine.live.pipeline import LivePipeline
from app.engine.live.settings import LiveSettings
from app.engine.outputs.virtual_camera import VirtualCameraOutput
from app.engine.sources import open_live_source
from app.engine.sources.base import LiveSource
from app.engine.sources.realtime_file import RealtimeFileSource

Warn = Callable[[str], None]
SOURCE_ADVICE = "choose another camera or video file"
FILE_SOUND = "file"  # the microphone setting that means "the camera file's own sound"


def open_source(s: LiveSettings, warn: Warn) -> tuple[LiveSource, str]:
    """The chosen camera or file, or the demo (with a warning); and the label of what opened."""
    try:
        return open_live_source(s.camera, size=s.size, fps=s.fps, loop=True), s.camera
    except BackdropError as exc:
        warn(f"{exc}; showing the demo instead ({SOURCE_ADVICE})")
        return open_live_source("demo", size=s.size, fps=s.fps), "demo"


def open_background(s: LiveSettings, warn: Warn) -> Background:
    """The chosen background, or blur (with a warning)."""
    try:
        return parse_background(s.background, s.fit)
    except BackdropError as exc:
        warn(f"{exc}; using blur instead")
        return BlurBackground()


def open_compositor(s: LiveSettings, warn: Warn) -> Compositor:
    """The chosen compositor with the effect settings, or the CPU one (with a warning)."""
    try:
        return make_compositor(s.compositor, s.effects)
    except BackdropError as exc:
        warn(f"{exc}; using the CPU compositor")
        return make_compositor("cpu", s.effects)


def open_vcam(s: LiveSettings, size: tuple[int, int], fps: float,
              warn: Warn) -> tuple[VirtualCameraOutput | None, str]:
    """The virtual camera (None when off or missing) and its status: "off", "on: DEVICE", "missing"."""
    if not s.virtual_camera:
        return None, "off"
    try:
        vcam = VirtualCameraOutput(size, fps, device=s.vcam_device, backend=s.vcam_backend)
        return vcam, f"on: {vcam.device}"
    except BackdropError as exc:
        warn(str(exc))
        return None, "missing"


def choose_microphone(mic: str | None, source: LiveSource) -> str | FileAudio | None:
    """What the microphone setting means with `source` as the camera: None for "none"; the
    file's own sound (told of each pass of its pictures) for "file", and when nothing was
    chosen (`mic` None) and the camera is a video file with sound; else the device named.
    SettingsError for "file" when the camera is not a video file with sound."""
    if mic == "none":
        return None
    has_sound = isinstance(source, RealtimeFileSource) and source.has_audio
    if mic == FILE_SOUND or (mic is None and has_sound):
        if not isinstance(source, RealtimeFileSource):
            raise SettingsError(f"--mic {FILE_SOUND}: the camera is not a video file")
        if not has_sound:
            raise SettingsError(f"--mic {FILE_SOUND}: {source.path} has no sound")
        sound = FileAudio(source.path)
        source.pass_listener = sound
        return sound
    return mic or "default"


def open_audio(s: LiveSettings, source: LiveSource, warn: Warn) -> LiveAudio | None:
    """The live audio path for the chosen microphone (None: no microphone; "file" with a
    camera that has no sound of its own: none, with a warning)."""
    try:
        mic = choose_microphone(s.mic, source)
    except SettingsError as exc:
        warn(f"{exc}; no sound")
        return None
    if mic is None:
        return None
    return LiveAudio(mic, virtual_mic=s.virtual_mic, offset_ms=s.av_offset_ms)


def start_audio(audio: LiveAudio, pipeline: LivePipeline, s: LiveSettings, warn: Warn) -> str:
    """Delay the microphone by the video latency and start it; returns where it goes:
    "on: VIRTUAL MIC", "missing" or "recordings only"."""
    audio.latency_ms = pipeline.video_latency_ms
    audio.on_delay = pipeline.stats.set_audio_delay
    audio.on_video_hold = lambda ms: setattr(pipeline, "release_after_ms", ms)
    audio.start()
    if audio.virtual_mic is not None:
        return f"on: {audio.virtual_mic.description}"
    if s.virtual_mic:
        warn(f"no virtual microphone ({audio.problem or 'no sound server'}): {loopback_hint()}; "
             "the microphone still goes into recordings and streams")
        return "missing"
    return "recordings only"
