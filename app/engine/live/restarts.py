"""Restarts run off the caller's thread (closing a camera can take a moment), one at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.engine.core.threads import PREFIX


class RestartQueue:
    """Runs `restart()` in a named worker thread. Requests made while one runs are merged
    into one more run; after `close()` none starts. An error of `restart` goes to `on_error`."""

    def __init__(self, restart: Callable[[], None], on_error: Callable[[BaseException], None]) -> None:
        self.restart, self.on_error = restart, on_error
        self._wanted = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def request(self) -> None:
        """Restart soon (returns at once)."""
        with self._lock:
            if self._closed:
                return
            self._wanted = True
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name=f"{PREFIX}restart", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._wanted or self._closed:
                    return
                self._wanted = False
            try:
                self.restart()
            except Exception as exc:  # reported, never lost in the thread
                self.on_error(exc)

    @property
    def busy(self) -> bool:
        """A restart is running or waiting to."""
        with self._lock:
            return self._wanted or (self._thread is not None and self._thread.is_alive())

    def close(self, timeout: float) -> None:
        """Start no more restarts; wait up to `timeout` s for the one running."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
