"""A live session as a front end (the panel) drives it: settings in, pictures and figures
out. No Qt: callbacks may come from worker threads; the caller moves them where it needs.

The session owns one LivePipeline at a time, and the live audio path when a microphone is
chosen. Changing the background, the matte, the effects or the audio offset takes effect
from the next frame; changing the camera, size, model or audio devices restarts the pipeline.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.engine.audio.live_audio import LiveAudio, loopback_hint
from app.engine.backgrounds.base import Background, BlurBackground
from app.engine.backgrounds.spec import parse_background
from app.engine.compositing.cpu import CpuCompositor
from app.engine.compositing.effects import CompositeSettings
from app.engine.core.errors import BackdropError, SettingsError
from app.engine.core.frame import Frame
from app.engine.core.stats import StatsSnapshot
from app.engine.live.pipeline import LivePipeline
from app.engine.live.preview import PreviewTap
from app.engine.live.settings import LiveSettings
from app.engine.matting.presets import MatteSettings
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.rtmp_stream import RtmpStreamOutput
from app.engine.outputs.video_file import VideoFileOutput
from app.engine.outputs.virtual_camera import VirtualCameraOutput
from app.engine.sources import open_live_source
from app.engine.sources.base import LiveSource

log = logging.getLogger("backdrop.session")


class LiveSession:
    """Starts, reconfigures and stops live mode for a front end.

    `on_warning(text)` gets one line a user can act on (camera busy, no virtual camera and
    how to make one, a background that cannot be loaded). `on_stats(snapshot)` comes about
    once a second. Both may be called from worker threads.
    """

    def __init__(self, settings: LiveSettings | None = None, *,
                 on_stats: Callable[[StatsSnapshot], None] | None = None,
                 on_warning: Callable[[str], None] | None = None) -> None:
        self.settings = settings or LiveSettings()
        self.on_stats, self.on_warning = on_stats, on_warning
        self.preview = PreviewTap()
        self.pipeline: LivePipeline | None = None
        self.source_label = ""
        self.vcam_status = "off"
        self.audio: LiveAudio | None = None
        self.audio_status = "off"
        self.recording: Path | None = None
        self.stream_url: str | None = None
        self._lock = threading.RLock()
        self._loader: threading.Thread | None = None

    def _warn(self, text: str) -> None:
        log.warning(text)
        if self.on_warning is not None:
            self.on_warning(text)

    # -- lifecycle -----------------------------------------------------------------------
    def _open_source(self) -> LiveSource:
        s = self.settings
        try:
            source = open_live_source(s.camera, size=s.size, fps=s.fps, loop=True)
            self.source_label = s.camera
            return source
        except BackdropError as exc:
            self._warn(f"{exc}; showing the demo instead (choose a camera or a video file)")
            self.source_label = "demo"
            return open_live_source("demo", size=s.size, fps=s.fps)

    def _open_background(self) -> Background:
        try:
            return parse_background(self.settings.background, self.settings.fit)
        except BackdropError as exc:
            self._warn(f"{exc}; using blur instead")
            return BlurBackground()

    def _open_vcam(self, size: tuple[int, int], fps: float) -> VirtualCameraOutput | None:
        s = self.settings
        if not s.virtual_camera:
            self.vcam_status = "off"
            return None
        try:
            vcam = VirtualCameraOutput(size, fps, device=s.vcam_device, backend=s.vcam_backend)
            self.vcam_status = f"on: {vcam.device}"
            return vcam
        except BackdropError as exc:
            self.vcam_status = "missing"
            self._warn(str(exc))
            return None

    def _open_audio(self) -> LiveAudio | None:
        s = self.settings
        if s.mic == "none":
            self.audio_status = "off"
            return None
        return LiveAudio(s.mic, virtual_mic=s.virtual_mic, offset_ms=s.av_offset_ms)

    def _start_audio(self, audio: LiveAudio, pipeline: LivePipeline) -> None:
        """Delay the microphone by the video latency, and say where it goes."""
        audio.latency_ms = pipeline.video_latency_ms
        audio.on_delay = pipeline.stats.set_audio_delay
        audio.on_video_hold = lambda ms: setattr(pipeline, "release_after_ms", ms)
        audio.start()
        if audio.virtual_mic is not None:
            self.audio_status = f"on: {audio.virtual_mic.description}"
        elif self.settings.virtual_mic:
            self.audio_status = "missing"
            self._warn(f"no virtual microphone ({audio.problem or 'no sound server'}): {loopback_hint()}; "
                       "the microphone still goes into recordings and streams")
        else:
            self.audio_status = "recordings only"

    def start(self) -> None:
        """Open the camera (or the demo, with a warning), the microphone, the outputs and the
        model, and run."""
        with self._lock:
            if self.pipeline is not None:
                return
            source = self._open_source()
            audio = self._open_audio()
            outputs: list = []
            vcam = self._open_vcam(source.size, float(source.frame_rate))
            if vcam is not None:
                outputs.append(vcam)  # first: the audio is synced to the first output
            if self.recording is not None:
                outputs.append(VideoFileOutput(self.recording, source.frame_rate, recording=True,
                                               live_audio=audio.tap() if audio else None))
            if self.stream_url:
                outputs.append(RtmpStreamOutput(self.stream_url, float(source.frame_rate),
                                                audio=audio.tap() if audio else None))
            s = self.settings
            self.pipeline = LivePipeline(
                source, Segmenter.for_video(s.matte, source.size, s.model), MatteRefiner(s.matte),
                self._open_background(), outputs, on_stats=self.on_stats,
                reader_check=vcam.readers if vcam else None,
                pause_without_readers=vcam is not None and not s.keep_camera_on,
                compositor=CpuCompositor(s.effects), on_picture=self.preview.keep)
            self.audio = audio
            if audio is not None:
                self._start_audio(audio, self.pipeline)
            self.pipeline.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop everything and close every device and file; returns within about `timeout`."""
        with self._lock:
            pipeline, self.pipeline = self.pipeline, None
            audio, self.audio = self.audio, None
        if pipeline is None:
            return
        pipeline.stop()
        try:
            pipeline.wait(timeout=timeout)
        finally:
            pipeline.segmenter.close()
            if audio is not None:
                audio.close()  # after the outputs: recordings take the audio up to their last frame

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.pipeline is not None

    # -- changes while running ----------------------------------------------------------------
    def set_background(self, spec: str, on_done: Callable[[str | None], None] | None = None) -> None:
        """Load `spec` off the caller's thread, then switch to it at the next frame. On a bad
        file the previous background stays and `on_done` gets the error line (else None)."""
        def load() -> None:
            try:
                background = parse_background(spec, self.settings.fit)
            except BackdropError as exc:
                self._warn(str(exc))
                if on_done:
                    on_done(str(exc))
                return
            self.settings.background = spec
            with self._lock:
                pipeline = self.pipeline
            if pipeline is not None:
                pipeline.set_background(background)
            else:
                background.close()
            if on_done:
                on_done(None)

        self._loader = threading.Thread(target=load, name="backdrop-bg-loader", daemon=True)
        self._loader.start()

    def set_matte(self, **changes: object) -> MatteSettings:
        """Change matte settings (threshold=..., smoothing=...) from the next frame on; a
        preset that runs another model, or segments crops with another, restarts the
        pipeline with it."""
        old = self.settings.matte
        settings = replace(old, **changes)
        self.settings.matte = settings
        with self._lock:
            pipeline = self.pipeline
            if pipeline is not None:
                pipeline.refiner.settings = settings
        if pipeline is not None and self.settings.model is None:
            size = pipeline.source.size
            if settings.model_for(size) != old.model_for(size) or \
                    settings.preset_spec.crop_model != old.preset_spec.crop_model:
                self.restart()
        return settings

    @property
    def mic_problem(self) -> str | None:
        """Why the microphone is not being heard right now (None when it is, or is off)."""
        with self._lock:
            audio = self.audio
        if audio is None or audio.capture.status == "capturing":
            return None
        return audio.capture.reason or audio.capture.status

    def set_effects(self, **changes: object) -> CompositeSettings:
        """Change the compositing effects (light_wrap=..., colour_match=...) from the next frame."""
        settings = replace(self.settings.effects, **changes)
        self.settings.effects = settings
        with self._lock:
            if self.pipeline is not None:
                self.pipeline.compositor.settings = settings
        return settings

    def set_audio_offset(self, ms: float) -> None:
        """Extra delay of the virtual microphone on top of the video latency (negative: less)."""
        self.settings.av_offset_ms = float(ms)
        with self._lock:
            if self.audio is not None:
                self.audio.offset_ms = float(ms)

    def set_recording(self, path: Path | None) -> None:
        """Start (path) or stop (None) recording; restarts the outputs."""
        self.recording = path
        if self.running:
            self.restart()

    def set_stream(self, url: str | None) -> None:
        """Start streaming to `url` (rtmp://...) or stop (None); restarts the outputs."""
        if url and not url.startswith(("rtmp://", "rtmps://")):
            raise SettingsError(f"{url}: a stream address must start with rtmp:// or rtmps://")
        self.stream_url = url or None
        if self.running:
            self.restart()

    def latest(self) -> tuple[Frame, np.ndarray] | None:
        """(source frame, composite) of the newest picture, or None before the first one."""
        processed = self.preview.latest()
        return None if processed is None else (processed.frame, processed.image)

    def latest_matte(self) -> np.ndarray | None:
        """The matte (HxW uint8, 255 = person) of the newest picture."""
        processed = self.preview.latest()
        return None if processed is None else processed.alpha

    def stats(self) -> StatsSnapshot | None:
        with self._lock:
            return self.pipeline.stats.snapshot() if self.pipeline is not None else None
