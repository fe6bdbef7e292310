"""The live preview: the newest output picture drawn by OpenGL, letterboxed to the widget."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtOpenGLWidgets import QOpenGLWidget


def to_qimage(image: np.ndarray) -> QImage:
    """A QImage sharing nothing with `image` (grey, RGB or RGBA uint8)."""
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    if image.ndim == 2:
        fmt, stride = QImage.Format.Format_Grayscale8, w
    elif image.shape[2] == 4:
        fmt, stride = QImage.Format.Format_RGBA8888, 4 * w
    else:
        fmt, stride = QImage.Format.Format_RGB888, 3 * w
    return QImage(image.data, w, h, stride, fmt).copy()


class PreviewView(QOpenGLWidget):
    """Shows pictures handed to `show_image`; with none yet, a short message."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self.message = "Starting the camera…"
        self.setMinimumSize(480, 270)
        self.frames_shown = 0

    def show_image(self, image: np.ndarray) -> None:
        self._image = to_qimage(image)
        self.frames_shown += 1
        self.update()

    def current_image(self) -> QImage | None:
        return self._image

    def paintGL(self) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#0e1013"))
        if self._image is None:
            painter.setPen(QColor("#8a93a3"))
            painter.setFont(QFont(self.font().family(), 12))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
        else:
            iw, ih = self._image.width(), self._image.height()
            scale = min(self.width() / iw, self.height() / ih)
            w, h = iw * scale, ih * scale
            target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
            if self._image.hasAlphaChannel():
                painter.fillRect(target, QColor("#3a3f47"))
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
        painter.end()
