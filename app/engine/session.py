"""A live session as a front end (the panel) drives it: settings in, pictures and figures
out. No Qt: callbacks may come from worker threads; the caller moves them where it needs.

The session owns one LivePipeline at a time. Changing the background or the matte takes
effect from the next frame; changing the camera, size or model restarts the pipeline.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from app.engine.backgrounds import Background, BlurBackground, parse_background
from app.engine.errors import BackdropError, SettingsError
from app.engine.frame import Frame
from app.engine.live import LivePipeline
from app.engine.matte import MatteRefiner, MatteSettings
from app.engine.outputs.rtmp_stream import RtmpStreamOutput
from app.engine.outputs.video_file import VideoFileOutput
from app.engine.outputs.virtual_camera import VirtualCameraOutput
from app.engine.segmenter import Segmenter
from app.engine.slots import LatestSlot
from app.engine.sources import open_live_source
from app.engine.sources.base import LiveSource
from app.engine.stats import StatsSnapshot

log = logging.getLogger("backdrop.session")


@dataclass
class LiveSettings:
    """Everything a user sets for live mode. `camera`: an index, /dev/videoN, `demo`, or a
    video file (played in a loop)."""

    camera: str = "0"
    size: tuple[int, int] = (1280, 720)
    fps: float = 30.0
    model: str | None = None  # None: the matte preset's choice for the camera's shape
    background: str = "blur"
    fit: str = "cover"
    matte: MatteSettings = field(default_factory=MatteSettings)
    virtual_camera: bool = True
    vcam_device: str | None = None
    vcam_backend: str | None = None
    keep_camera_on: bool = False


class PreviewTap:
    """An output that keeps only the newest picture (with its source frame) for a viewer
    that polls at its own rate; it never blocks the live path."""

    keeps_alive = False

    def __init__(self) -> None:
        self._latest: tuple[Frame, np.ndarray] | None = None
        self._lock = threading.Lock()
        self.count = 0

    def write(self, frame: Frame, image: np.ndarray) -> None:
        with self._lock:
            self._latest = (frame, image)
            self.count += 1

    def latest(self) -> tuple[Frame, np.ndarray] | None:
        """(source frame, composite) of the newest picture, or None before the first."""
        with self._lock:
            return self._latest

    def close(self) -> None:
        pass

    abort = close


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

    def start(self) -> None:
        """Open the camera (or the demo, with a warning), the outputs and the model, and run."""
        with self._lock:
            if self.pipeline is not None:
                return
            source = self._open_source()
            outputs: list = [self.preview]
            vcam = self._open_vcam(source.size, float(source.frame_rate))
            if vcam is not None:
                outputs.append(vcam)
            if self.recording is not None:
                outputs.append(VideoFileOutput(self.recording, source.frame_rate, recording=True))
            if self.stream_url:
                outputs.append(RtmpStreamOutput(self.stream_url, float(source.frame_rate)))
            s = self.settings
            self.pipeline = LivePipeline(
                source, Segmenter(s.model or s.matte.model_for(source.size), video=True), MatteRefiner(s.matte), self._open_background(), outputs,
                on_stats=self.on_stats, reader_check=vcam.readers if vcam else None,
                pause_without_readers=vcam is not None and not s.keep_camera_on)
            self.pipeline.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop everything and close every device and file; returns within about `timeout`."""
        with self._lock:
            pipeline, self.pipeline = self.pipeline, None
        if pipeline is None:
            return
        pipeline.stop()
        try:
            pipeline.wait(timeout=timeout)
        finally:
            pipeline.segmenter.close()

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
        preset that runs another model restarts the pipeline with it."""
        old = self.settings.matte
        settings = replace(old, **changes)
        self.settings.matte = settings
        with self._lock:
            pipeline = self.pipeline
            if pipeline is not None:
                pipeline.refiner.settings = settings
        if pipeline is not None and self.settings.model is None:
            size = pipeline.source.size
            if settings.model_for(size) != old.model_for(size):
                self.restart()
        return settings

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
        return self.preview.latest()

    def stats(self) -> StatsSnapshot | None:
        with self._lock:
            return self.pipeline.stats.snapshot() if self.pipeline is not None else None
