"""What every audio part shares: one named worker thread, and PortAudio streams started and
closed with errors a user can read."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.engine.audio.endpoints import AudioDeviceError

log = logging.getLogger("backdrop.audio")


class Worker:
    """A daemon thread named `name` running `target`, which returns once `stop` is set.
    `start()` may be called again (it starts one thread); `end()` is True on its first call only."""

    def __init__(self, name: str, target: Callable[[], None]) -> None:
        self.name, self.target = name, target
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ended = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.target, name=self.name, daemon=True)
            self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def end(self, timeout: float) -> bool:
        """Set `stop` and wait up to `timeout` s for the thread; False if already ended."""
        if self._ended:
            return False
        self._ended = True
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        return True


def start_stream(stream, what: str) -> None:
    """Start a PortAudio stream; on failure close it and raise AudioDeviceError naming `what`."""
    import sounddevice as sd

    try:
        stream.start()
    except sd.PortAudioError as exc:
        stream.close()
        raise AudioDeviceError(f"{what} cannot be started ({exc})") from None


def close_stream(stream, what: str) -> None:
    """Abort and close `stream` (None: nothing); a device that is gone already is only logged."""
    if stream is None:
        return
    try:
        stream.abort()
        stream.close()
    except Exception as exc:  # the device may be gone already
        log.debug("closing %s: %s", what, exc)
