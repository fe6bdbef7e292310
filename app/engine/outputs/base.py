"""What every output offers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from app.engine.core.frame import Frame


class Output(Protocol):
    """Receives processed pictures in order; `close` finalises, `abort` discards. Outputs
    also carry a `label`, what the user knows them by, for messages (`label_of`)."""

    def write(self, frame: Frame, image: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


def label_of(output: object) -> str:
    """What the user knows `output` by: its `label` (a recording's path, a stream's address,
    the virtual camera's device), or "an output" for one without."""
    return str(getattr(output, "label", None) or "an output")


def failure_line(output: object, exc: BaseException, remaining: Sequence[object]) -> str:
    """One line for an output that failed and was closed while `remaining` go on: "recording
    out.mp4 failed: cannot be written (the disk is full); virtual camera /dev/video10 goes on".
    The error's own leading name of the output is not repeated."""
    label = label_of(output)
    reason = (getattr(exc, "strerror", None) if isinstance(exc, OSError) else None) or str(exc) \
        or type(exc).__name__
    head, sep, rest = reason.partition(": ")
    if sep and head and f" {head} " in f" {label} ":  # the whole name, not part of a word
        reason = rest
    if not remaining:
        return f"{label} failed: {reason}; no other output is left"
    others = [label_of(o) for o in remaining]
    return f"{label} failed: {reason}; {' and '.join(others)} {'goes' if len(others) == 1 else 'go'} on"


@runtime_checkable
class ReportsState(Protocol):
    """An output whose state a user should see beside the figures (a stream's connection)."""

    @property
    def state(self) -> str: ...
