"""What every source offers, and the newest-frame hand-over that live sources use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from app.engine.frame import Frame


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


class LatestFrameSlot:
    """A one-frame mailbox: `put` replaces an unread frame (counting it as dropped), `get`
    waits for a frame newer than the last one read. Nothing queues up behind a slow reader."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify_all()

    def close(self) -> None:
        """No more frames: a waiting `get` returns None once the slot is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The newest unread frame; None when closed and empty, or on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._frame is not None or self._closed, timeout):
                return None
            frame, self._frame = self._frame, None
            return frame


class LiveSource:
    """Base of sources that produce frames at their own pace in a named thread.

    Subclasses implement `_capture()`, a generator of frames run in that thread; readers
    iterate the source and always get the newest frame. `close()` stops the thread.
    """

    live = True
    audio_path: Path | None = None
    expected_frames: int | None = None

    def __init__(self, name: str, frame_rate: Fraction) -> None:
        self.name, self.frame_rate = name, frame_rate
        self._slot = LatestFrameSlot()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _capture(self) -> Iterator[Frame]:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            for frame in self._capture():
                if self._stop.is_set():
                    break
                self._slot.put(frame)
        except BaseException as exc:  # handed to the reader, not lost in the thread
            self.error = exc
        finally:
            self._slot.close()

    def start(self) -> None:
        """Start capturing (iteration starts it too); idempotent."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"backdrop-source-{self.name}", daemon=True)
            self._thread.start()

    def __iter__(self) -> Iterator[Frame]:
        self.start()
        while not self._stop.is_set():
            frame = self._slot.get(timeout=0.5)
            if frame is not None:
                yield frame
            elif self._thread is not None and not self._thread.is_alive():
                if self.error is not None:
                    raise self.error
                return

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def close(self) -> None:
        """Stop the capture thread and release the device; safe to call twice."""
        self._stop.set()
        self._slot.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=3.0)
        self._release()

    def _release(self) -> None:
        """Free the device (subclasses)."""
