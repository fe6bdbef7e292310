"""What every source offers, and the newest-frame hand-over that live sources use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

from app.engine.core.frame import Frame
from app.engine.core.slots import LatestSlot
from app.engine.core.threads import Worker

CLOSE_TIMEOUT_S = 3.0  # a capture thread still running this long after close() is logged


class Source(Protocol):
    """A stream of frames. File sources yield every frame; live sources yield the newest
    one each time and count the frames they had to drop."""

    name: str
    live: bool
    frame_rate: Fraction
    audio_path: Path | None  # a file whose audio track belongs with these frames

    def __iter__(self) -> Iterator[Frame]: ...

    @property
    def dropped(self) -> int: ...

    @property
    def expected_frames(self) -> int | None: ...

    def close(self) -> None: ...


class SourceLost(Exception):
    """Raised inside `_capture` when the device went away (unplugged); the source retries."""


class LiveSource:
    """Base of sources that produce frames at their own pace in a named thread.

    Subclasses implement `_capture()`, a generator of frames run in that thread, and may
    implement `_open()`/`_release()` for the device. Readers iterate the source and always
    get the newest frame. If `_capture` raises SourceLost (device unplugged), the device is
    released and reopened every RETRY_S until it is back; `lost` is True meanwhile.
    Any other exception (a file that cannot be decoded, a bug) ends the source: it is kept
    in `error`, `ended` turns True, and iteration re-raises it.
    `pause()` releases the device (a webcam's light goes off) until `resume()`.
    """

    live = True
    audio_path: Path | None = None
    expected_frames: int | None = None
    RETRY_S = 0.5

    def __init__(self, name: str, frame_rate: Fraction) -> None:
        self.name, self.frame_rate = name, frame_rate
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._worker = Worker(f"source-{name}", self._run)
        self._stop = self._worker.stop  # set by close(), or when the capture thread fails
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._started = False
        self.lost = False
        self.reconnects = 0

    def _capture(self) -> Iterator[Frame]:
        raise NotImplementedError

    def _open(self) -> None:
        """(Re)open the device; raise SourceLost if it is not there (subclasses)."""

    def _release(self) -> None:
        """Free the device (subclasses)."""

    def _run(self) -> None:
        try:  # an error escaping here is kept by the worker (`error`)
            while not self._stop.is_set():
                if not self._running.is_set():
                    self._release()
                    while not (self._running.wait(0.1) or self._stop.is_set()):
                        pass
                    if self._stop.is_set():
                        break
                    self._reopen()
                    continue
                try:
                    for frame in self._capture():
                        self.lost = False
                        if self._stop.is_set() or not self._running.is_set():
                            break
                        self._slot.put(frame)
                    else:
                        break  # the source ended by itself
                except SourceLost:
                    self.lost = True
                    self._release()
                    self._reopen()
        finally:
            self._slot.close()

    def _reopen(self) -> None:
        """Open the device again, retrying until it is back or the source stops."""
        while not self._stop.is_set():
            try:
                self._open()
                self.reconnects += 1
                return
            except SourceLost:
                self.lost = True
                self._stop.wait(self.RETRY_S)

    def start(self) -> None:
        """Start capturing (iteration starts it too); idempotent."""
        if not self._started:
            self._worker.start()
            self._started = True

    def pause(self) -> None:
        """Release the device until `resume()`; the reader simply gets no new frames."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def __iter__(self) -> Iterator[Frame]:
        self.start()
        while not self._stop.is_set():
            frame = self._slot.get(timeout=0.5)
            if frame is not None:
                yield frame
            elif self.ended:
                break
        self._worker.raise_error()  # a failing capture thread also sets _stop: check either way

    def first_picture(self, timeout: float) -> np.ndarray | None:
        """A picture of what the source shows, to measure on before the stream starts (None
        if none came within `timeout`). Here the newest frame, which starts the capture;
        sources whose frames would be lost meanwhile (a file played once) read it aside."""
        frame = self.get(timeout)
        return frame.image if frame is not None else None

    def get(self, timeout: float) -> Frame | None:
        """The newest unread frame, or None after `timeout` (or at the end; see `ended`)."""
        self.start()
        return self._slot.get(timeout)

    @property
    def ended(self) -> bool:
        """True once the capture thread has finished (error in `error`, if any)."""
        return (self._started or self._stop.is_set()) and not self._worker.alive

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the capture thread, or None."""
        return self._worker.error

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def close(self) -> None:
        """Stop the capture thread and release the device; safe to call twice."""
        self._stop.set()  # before _running: a paused thread must not reopen the device
        self._running.set()
        self._slot.close()
        self._worker.end(CLOSE_TIMEOUT_S)
        self._release()
