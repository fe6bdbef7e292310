"""Writes frames as a numbered PNG sequence (000000.png, ...) into a folder."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.engine.core.errors import OutputError
from app.engine.core.frame import Frame
from app.engine.imaging.images import write_file, write_reason
from app.engine.outputs.atomic import commit, discard, partial_path


class PngSequenceOutput:
    """RGB, RGBA (transparent background) or grey (matte) PNGs, numbered from 0 in the order
    written. The folder is built under a temporary name and renamed on `close()`; errors
    name the file as it will be called there, with the reason (a full disk, say)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder
        self.label = f"PNG sequence {folder}"
        self._partial = partial_path(folder)
        try:
            self._partial.mkdir()
        except OSError as exc:
            raise OutputError(f"{folder}: cannot be created ({write_reason(exc)})") from None
        self._count = 0
        self._closed = False

    def write(self, frame: Frame, image: np.ndarray) -> None:
        """Write `image` (HxW grey, HxWx3 RGB or HxWx4 RGBA) as the next PNG."""
        if image.ndim == 3:
            code = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
            image = cv2.cvtColor(image, code)
        name = f"{self._count:06d}.png"
        ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise OutputError(f"{self.path / name}: cannot be encoded as PNG")
        write_file(self._partial / name, data, name=self.path / name)  # the name the user asked for
        self._count += 1

    def close(self) -> None:
        """Move the finished folder into place; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        commit(self._partial, self.path)

    def abort(self) -> None:
        """Delete the unfinished folder."""
        if not self._closed:
            self._closed = True
            discard(self._partial)
