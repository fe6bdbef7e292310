"""Named worker threads: started once, their error kept for the owner, closed once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("backdrop.threads")

PREFIX = "backdrop-"  # every engine thread's name starts with it (tests check none is left)


class ThreadStuck(RuntimeError):
    """A thread did not stop within its close timeout."""


class Worker:
    """A daemon thread named `name` (given the `backdrop-` prefix if it lacks it) running
    `target`, which returns once `stop` is set.

    - `start()` starts one thread; later calls do nothing.
    - An exception escaping `target` is kept in `error` (first one only), passed to
      `on_error` (from the worker thread), and `stop` is set; `raise_error()` re-raises it.
    - `end(timeout)` sets `stop` and joins: True on its first call only (so the caller
      releases what the thread used once); a thread still alive after `timeout` is logged
      by name and reported by `stuck`.
    """

    def __init__(self, name: str, target: Callable[[], None], *,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.name = name if name.startswith(PREFIX) else PREFIX + name
        self.target, self.on_error = target, on_error
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._ended = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._ended:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            self.target()
        except BaseException as exc:  # kept for the owner, never lost in a thread
            if self.error is None:
                self.error = exc
            self.stop.set()
            if self.on_error is not None:
                self.on_error(exc)
            else:
                log.debug("%s failed: %r", self.name, exc)

    @property
    def alive(self) -> bool:
        """Whether the thread is running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def stuck(self) -> bool:
        """Closed, but the thread has not stopped."""
        return self._ended and self.alive

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` s for the thread to end; True when it has (or never ran)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.alive

    def end(self, timeout: float) -> bool:
        """Set `stop` and wait up to `timeout` s for the thread; False if already ended."""
        with self._lock:
            if self._ended:
                return False
            self._ended = True
        self.stop.set()
        if self._thread is not None and threading.current_thread() is not self._thread:
            self._thread.join(timeout=timeout)
            if self._thread.is_alive():
                log.warning("thread %s did not stop within %.1f s", self.name, timeout)
        return True

    def raise_error(self) -> None:
        """Re-raise the error that ended the thread, if any."""
        if self.error is not None:
            raise self.error
