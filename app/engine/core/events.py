"""Subscribers to an engine object's events: called in the thread that publishes, in the
order they subscribed; no Qt (a front end moves them where it needs)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

E = TypeVar("E")


class Listeners(Generic[E]):
    """A thread-safe list of `listener(event)` callables."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[E], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Callable[[E], None]) -> Callable[[], None]:
        """Call `listener(event)` on each event from now on; returns the unsubscriber."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
        return unsubscribe

    def publish(self, event: E) -> None:
        """Call every listener subscribed now with `event` (outside the lock)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
