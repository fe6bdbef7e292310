"""What a live session is doing, as one object, and the events that say it changed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from app.engine.core.events import Listeners

log = logging.getLogger("backdrop.session")


@dataclass(frozen=True)
class LiveStatus:
    """A snapshot of the session's state.

    source: what the pipeline reads ("demo" when the chosen camera could not be opened).
    vcam: "off", "on: DEVICE" or "missing" (no virtual camera device: see its setup hint).
    audio: "off", "on: VIRTUAL MIC", "missing" or "recordings only".
    mic_problem: why the microphone is not heard now (None when it is, or is off).
    compositor: the compositor in use ("gl", "cpu"; "" before the first start).
    matte: the preset and model in use ("balanced: landscape on cpu"), and under auto which
        preset it took and why.
    error: the last error that stopped the pipeline or its source, with what to do (None:
        none since the last start).
    warning: the last warning a user can act on (None: none yet).
    """

    running: bool = False
    source: str = ""
    vcam: str = "off"
    audio: str = "off"
    mic_problem: str | None = None
    compositor: str = ""
    matte: str = ""
    error: str | None = None
    warning: str | None = None


@dataclass(frozen=True)
class StatusChanged:
    """The session's status is now `status`; `changed` names the fields that were set (a
    warning repeated word for word is still named)."""

    status: LiveStatus
    changed: tuple[str, ...]


StatusListener = Callable[[StatusChanged], None]


class StatusBoard:
    """Holds the current LiveStatus and tells subscribers of each update, in the updating
    thread (which may be a worker thread)."""

    def __init__(self) -> None:
        self._status = LiveStatus()
        self._listeners: Listeners[StatusChanged] = Listeners()
        self._lock = threading.Lock()

    @property
    def status(self) -> LiveStatus:
        return self._status

    def subscribe(self, listener: StatusListener) -> Callable[[], None]:
        """Call `listener(event)` on each update from now on; returns the unsubscriber."""
        return self._listeners.subscribe(listener)

    def update(self, **changes: Any) -> LiveStatus:
        """Set some fields and publish the new status (also when nothing differs)."""
        with self._lock:
            self._status = replace(self._status, **changes)
            status = self._status
        self._listeners.publish(StatusChanged(status, tuple(changes)))
        return status

    def warn(self, text: str) -> None:
        """Log and publish one line a user can act on."""
        log.warning(text)
        self.update(warning=text)

    def fail(self, text: str) -> None:
        """Log and publish an error that stopped the pipeline or its source."""
        log.error(text)
        self.update(error=text, running=False)
