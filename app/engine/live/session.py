"""A live session as a front end (the panel) drives it: a settings model in, pictures, figures
and a status out. No Qt: events may come from worker threads; the caller moves them where
it needs.

The session owns one LivePipeline at a time, and the live audio path when a microphone is
chosen. It subscribes to its LiveSettings: a change of a field declared "live" (background,
matte, effects, audio offset) takes effect from the next frame; a change of one declared
"restart" (camera, size, model, compositor, devices) restarts the pipeline off the caller's
thread. Its LiveStatus is published to `subscribe`rs on every change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.engine.audio.live_audio import LiveAudio
from app.engine.backgrounds.spec import parse_background
from app.engine.core.errors import BackdropError, SettingsError
from app.engine.core.frame import Frame
from app.engine.core.stats import StatsSnapshot
from app.engine.live import parts
from app.engine.live.auto import AutoFallback, open_matte, switch_in_background
from app.engine.live.fields import FieldChanged
from app.engine.live.pipeline import LivePipeline
from app.engine.live.preview import PreviewTap
from app.engine.live.restarts import RestartQueue
from app.engine.live.settings import LiveSettings
from app.engine.live.status import LiveStatus, StatusBoard, StatusListener
from app.engine.matting.presets import AUTO, MatteSettings
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.base import Output
from app.engine.outputs.rtmp_stream import RtmpStreamOutput
from app.engine.outputs.video_file import VideoFileOutput
from app.engine.sources.base import LiveSource

log = logging.getLogger("backdrop.session")


class LiveSession:
    """Starts, reconfigures and stops live mode for a front end.

    `settings` is the model the session follows (changes made to it are applied). `status`
    is the current LiveStatus; `subscribe(listener)` gets a StatusChanged on each update
    (a warning a user can act on, the source's error, outputs opened...). `on_stats(snapshot)`
    comes about once a second. Both may be called from worker threads.
    """

    def __init__(self, settings: LiveSettings | None = None, *,
                 on_stats: Callable[[StatsSnapshot], None] | None = None) -> None:
        self.settings = settings or LiveSettings()
        self.on_stats = on_stats
        self.preview = PreviewTap()
        self.pipeline: LivePipeline | None = None
        self.audio: LiveAudio | None = None
        self.recording: Path | None = None
        self.stream_url: str | None = None
        self._board = StatusBoard()
        self._lock = threading.RLock()  # guards the pipeline and audio references (held briefly)
        self._lifecycle = threading.Lock()  # one start, stop or restart at a time
        self._active = False  # started and not stopped: changes apply, restarts run
        self._restarts = RestartQueue(self.restart, lambda exc: self._board.fail(f"restart failed: {exc}"))
        self._unsubscribe = self.settings.subscribe(self._on_change)
        self._auto_chosen: dict[tuple, str] = {}  # what auto took, per (camera, size, fps)
        self._auto_key: tuple | None = None  # the running stream's, when under auto
        self._fallback: AutoFallback | None = None

    @property
    def status(self) -> LiveStatus:
        return self._board.status

    def subscribe(self, listener: StatusListener) -> Callable[[], None]:
        """Call `listener(StatusChanged)` on each status update; returns the unsubscriber."""
        return self._board.subscribe(listener)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Open the camera (or the demo, with a warning), the microphone, the outputs and the
        model, and run; from now on restarts follow the settings."""
        with self._lifecycle:
            self._active = True
            if self.pipeline is None:
                self._start_pipeline()

    def _start_pipeline(self) -> None:
        source, label = parts.open_source(self.settings, self._board.warn)
        audio = parts.open_audio(self.settings, source, self._board.warn)
        outputs: list[Output] = []
        vcam, vcam_status = parts.open_vcam(self.settings, source.size, float(source.frame_rate), self._board.warn)
        if vcam is not None:
            outputs.append(vcam)  # first: the audio is synced to the first output
        if self.recording is not None:
            outputs.append(VideoFileOutput(self.recording, source.frame_rate, recording=True,
                                           live_audio=audio.tap() if audio else None))
        if self.stream_url:
            outputs.append(RtmpStreamOutput(self.stream_url, float(source.frame_rate),
                                            audio=audio.tap() if audio else None))
        s = self.settings
        compositor = parts.open_compositor(s, self._board.warn)
        segmenter, matte = self._open_matte(source)
        pipeline = LivePipeline(
            source, segmenter, MatteRefiner(matte),
            parts.open_background(s, self._board.warn), outputs, on_stats=self._stats,
            reader_check=vcam.readers if vcam else None,
            pause_without_readers=vcam is not None and not s.keep_camera_on,
            compositor=compositor, on_picture=self.preview.keep,
            on_error=lambda exc: self._pipeline_failed(label, exc))
        with self._lock:
            self.pipeline, self.audio = pipeline, audio
        audio_status = parts.start_audio(audio, pipeline, s, self._board.warn) if audio is not None else "off"
        self._board.update(running=True, source=label, vcam=vcam_status, audio=audio_status,
                           compositor=compositor.name, error=None, mic_problem=self._mic_problem())
        pipeline.start()

    def _open_matte(self, source: LiveSource) -> tuple[Segmenter, MatteSettings]:
        """The stream's segmenter and matte settings; under auto, measured (once per camera,
        size and rate: a restart keeps what was chosen, a fallback included)."""
        s = self.settings
        key = (s.camera, source.size, float(source.frame_rate))
        segmenter, matte, choice = open_matte(s.matte, source, s.model_override, self._auto_chosen.get(key))
        self._auto_key, self._fallback = (key, AutoFallback(choice, self._fall_back)) if choice else (None, None)
        if choice is not None:
            self._auto_chosen[key] = choice.preset
        self._board.update(matte=choice.describe() if choice else f"{matte.preset}: {segmenter.description}")
        return segmenter, matte

    def _fall_back(self, preset: str, reason: str) -> None:
        """From the stats callback: auto's choice does not keep up; switch to `preset`."""
        with self._lock:
            pipeline, key = self.pipeline, self._auto_key
        if pipeline is None or key is None:
            return
        self._auto_chosen[key] = preset
        switch_in_background(pipeline, self.settings.matte.resolved(preset), pipeline.source.size, self._board.warn)
        self._board.update(matte=f"auto: {preset} ({reason})", warning=f"auto: {reason}")

    def _stop_pipeline(self, timeout: float) -> None:
        with self._lock:
            pipeline, self.pipeline = self.pipeline, None
            audio, self.audio = self.audio, None
        if pipeline is None:
            return
        pipeline.stop()
        try:
            pipeline.wait(timeout=timeout)
        except Exception as exc:  # already published through on_error
            log.info("the pipeline had stopped on an error: %s", exc)
        finally:
            pipeline.segmenter.close()
            if audio is not None:
                audio.close()  # after the outputs: recordings take the audio up to their last frame
        self._board.update(running=False, mic_problem=None)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop everything and close every device and file; returns within about `timeout`."""
        with self._lifecycle:
            self._active = False
            self._stop_pipeline(timeout)

    def restart(self) -> None:
        """Stop and start again with the current settings (unless stopped meanwhile)."""
        with self._lifecycle:
            if not self._active:
                return
            self._stop_pipeline(2.0)
            self._start_pipeline()

    def close(self, timeout: float = 2.0) -> None:
        """Stop for good: no restart starts after this; follows settings no more."""
        self._unsubscribe()
        self._restarts.close(timeout)
        self.stop(timeout)

    @property
    def running(self) -> bool:
        return self.pipeline is not None

    @property
    def restarting(self) -> bool:
        """A restart (asked for by a settings change) is running or waiting to."""
        return self._restarts.busy

    def _pipeline_failed(self, label: str, exc: BaseException) -> None:
        """From a worker thread: the pipeline or its source stopped on `exc`."""
        name, text = Path(label).name, str(exc)
        what = f"camera {text.replace(label, name)}" if label in text else f"camera {name}: {text}"
        self._board.fail(f"{what}; {parts.SOURCE_ADVICE}")

    def _stats(self, snapshot: StatsSnapshot) -> None:
        if self._fallback is not None:
            self._fallback.observe(snapshot)
        problem = self._mic_problem()
        if problem != self.status.mic_problem:
            self._board.update(mic_problem=problem)
        if self.on_stats is not None:
            self.on_stats(snapshot)

    def _mic_problem(self) -> str | None:
        with self._lock:
            audio = self.audio
        if audio is None or audio.capture.status == "capturing":
            return None
        return audio.capture.reason or audio.capture.status

    # -- changes of the settings ----------------------------------------------------------
    def _on_change(self, event: FieldChanged) -> None:
        """Apply one change of the settings, in the thread that made it."""
        if event.origin is self or not self._active:
            return
        if event.applies == "restart":
            self._restarts.request()
        elif event.group == "matte":
            self._apply_matte(MatteSettings(**{**self.settings.values("matte"), event.name: event.old}))
        elif event.group == "effects":
            with self._lock:
                if self.pipeline is not None:
                    self.pipeline.compositor.settings = self.settings.effects
        elif event.group == "background":
            self._load_background(event.name, event.old)
        elif event.name == "av_offset_ms":
            with self._lock:
                if self.audio is not None:
                    self.audio.offset_ms = self.settings.av_offset_ms

    def _apply_matte(self, old: MatteSettings) -> None:
        """The new matte settings from the next frame; a restart when the preset runs
        another model (or segments crops with another), or is auto newly chosen (to measure)."""
        running = self._auto_chosen.get(self._auto_key) if self._auto_key else None
        settings, old = self.settings.matte.resolved(running), old.resolved(running)
        with self._lock:
            pipeline = self.pipeline
            if pipeline is not None:
                pipeline.refiner.settings = settings
        if pipeline is not None and self.settings.model_override is None:
            size = pipeline.source.size
            if settings.model_for(size) != old.model_for(size) or old.preset != AUTO == settings.preset or \
                    settings.preset_spec.crop_model != old.preset_spec.crop_model:
                self._restarts.request()

    def _load_background(self, name: str, old: str) -> None:
        """Load the background off the caller's thread, then switch to it at the next frame.
        On a bad file the previous one stays (the setting goes back) and a warning is published."""
        spec, fit = self.settings.background, self.settings.fit

        def load() -> None:
            try:
                background = parse_background(spec, fit)
            except BackdropError as exc:
                self._board.warn(str(exc))
                if getattr(self.settings, name) == (spec if name == "background" else fit):
                    self.settings.set(name, old, origin=self)
                return
            with self._lock:
                pipeline = self.pipeline
                current = (self.settings.background, self.settings.fit) == (spec, fit)
                if pipeline is not None and current:
                    pipeline.set_background(background)
                    return
            background.close()  # stopped meanwhile, or a newer choice came

        threading.Thread(target=load, name="backdrop-bg-loader", daemon=True).start()

    # -- outputs that come and go -----------------------------------------------------------
    def set_recording(self, path: Path | None) -> None:
        """Start (path) or stop (None) recording; reopens the outputs off the caller's thread."""
        self.recording = path
        if self._active:
            self._restarts.request()

    def set_stream(self, url: str | None) -> None:
        """Start streaming to `url` (rtmp://...) or stop (None); reopens the outputs off the
        caller's thread."""
        if url and not url.startswith(("rtmp://", "rtmps://")):
            raise SettingsError(f"{url}: a stream address must start with rtmp:// or rtmps://")
        self.stream_url = url or None
        if self._active:
            self._restarts.request()

    # -- what a viewer pulls -------------------------------------------------------------------
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
