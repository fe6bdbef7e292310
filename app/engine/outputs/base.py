"""What every output offers."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from app.engine.core.frame import Frame


class Output(Protocol):
    """Receives processed pictures in order; `close` finalises, `abort` discards."""

    def write(self, frame: Frame, image: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


@runtime_checkable
class ReportsState(Protocol):
    """An output whose state a user should see beside the figures (a stream's connection)."""

    @property
    def state(self) -> str: ...
