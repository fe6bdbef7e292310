"""SIGINT, SIGTERM and SIGHUP stop every command the same way.

`raising_on_stop_signals()` turns each of them into `Stopped`, a KeyboardInterrupt that
carries the signal's number, raised in the main thread: the cleanup written for Ctrl-C
(discarding unfinished outputs) runs for all three. The first signal raises; later ones are
ignored while that cleanup runs, so it is not cut short. `calling_on_stop_signals(callback)`
instead calls `callback(signum)` once, for a command that stops its own loop (`run`, the
panel). The exit status for a stop is 128 + the signal's number (130, 143, 129)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """A stop signal, raised in the main thread. `outcome` says what became of the outputs."""

    def __init__(self, signum: int, outcome: str = "unfinished outputs removed") -> None:
        super().__init__(signal_name(signum))
        self.signum, self.outcome = signum, outcome


def signal_name(signum: int) -> str:
    """"SIGTERM" for SIGTERM's number; the number itself if it has no name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def signum_of(exc: KeyboardInterrupt) -> int:
    """The signal a KeyboardInterrupt stands for (SIGINT unless it is a `Stopped`)."""
    return getattr(exc, "signum", signal.SIGINT)


def exit_status(signum: int) -> int:
    """The shell's convention for a process stopped by `signum`: 128 + its number."""
    return 128 + signum


def stop_line(exc: KeyboardInterrupt) -> str:
    """The one stderr line for a command stopped by `exc`."""
    outcome = getattr(exc, "outcome", "unfinished outputs removed")
    return f"backdrop: stopped by {signal_name(signum_of(exc))}; {outcome}"


@contextmanager
def _handling(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread's handlers: nothing to install here
        return
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)


@contextmanager
def raising_on_stop_signals() -> Iterator[None]:
    """While inside, the first stop signal raises `Stopped` in the main thread; later ones
    are ignored. The previous handlers are back afterwards."""
    stopping = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise Stopped(signum)

    with _handling(handler):
        yield


@contextmanager
def calling_on_stop_signals(callback: Callable[[int], None]) -> Iterator[None]:
    """While inside, the first stop signal calls `callback(signum)` (in the main thread,
    between two Python steps); later ones are ignored. The previous handlers are back afterwards."""
    called = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal called
        if not called:
            called = True
            callback(signum)

    with _handling(handler):
        yield
