"""What every audio part shares: the engine's named worker thread, and PortAudio streams
started and closed with errors a user can read."""

from __future__ import annotations

import logging

from app.engine.audio.endpoints import AudioDeviceError
from app.engine.core.threads import Worker

__all__ = ["Worker", "start_stream", "close_stream"]

log = logging.getLogger("backdrop.audio")


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
