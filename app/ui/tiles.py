"""A gallery tile: its thumbnail size and the data it carries."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt

THUMB = QSize(128, 72)
SPEC_ROLE = Qt.ItemDataRole.UserRole
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
MOVING_KINDS = ("video", "shader")

__all__ = ["THUMB", "SPEC_ROLE", "ENTRY_ROLE", "MOVING_KINDS"]
