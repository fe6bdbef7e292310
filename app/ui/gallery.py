"""The background gallery: built-in kinds (blur, colours, transparent), the shipped library
and the user's own files, as thumbnails. Drop files on it to add them (copied into the user
folder); right-click a user background to rename or remove it. Resting the pointer on a
moving background (video, shader scene) plays it in its tile."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMenu,
)

from app.engine.backgrounds.kinds import kind_of
from app.engine.backgrounds.library import Entry, scan
from app.ui.motion import MotionPreview
from app.ui.tiles import ENTRY_ROLE, SPEC_ROLE, THUMB

log = logging.getLogger("backdrop.ui")



@dataclass(frozen=True)
class Choice:
    """One tile: what it shows and the background SPEC it selects."""

    label: str
    spec: str
    entry: Entry | None = None
    colour: str | None = None


BUILT_IN = (
    Choice("Blur", "blur"),
    Choice("Strong blur", "blur:60"),
    Choice("White", "#ffffff", colour="#ffffff"),
    Choice("Green screen", "#00b140", colour="#00b140"),
    Choice("Transparent", "transparent"),
)


def _pixmap_for(choice: Choice) -> QPixmap:
    pixmap = QPixmap(THUMB)
    if choice.entry is not None and choice.entry.thumbnail and choice.entry.thumbnail.exists():
        image = QImage(str(choice.entry.thumbnail))
        if not image.isNull():
            return QPixmap.fromImage(image.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                                  Qt.TransformationMode.SmoothTransformation)).copy(0, 0, THUMB.width(), THUMB.height())
    if choice.entry is not None and choice.entry.kind == "photo":
        image = QImage(str(choice.entry.path))
        if not image.isNull():
            return QPixmap.fromImage(image.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                                  Qt.TransformationMode.SmoothTransformation)).copy(0, 0, THUMB.width(), THUMB.height())
    pixmap.fill(QColor(choice.colour or "#2a2e37"))
    painter = QPainter(pixmap)
    if choice.spec == "transparent":
        for y in range(0, THUMB.height(), 12):
            for x in range(0, THUMB.width(), 12):
                if (x // 12 + y // 12) % 2 == 0:
                    painter.fillRect(x, y, 12, 12, QColor("#4a4f5a"))
    elif choice.spec.startswith("blur"):
        painter.setPen(Qt.PenStyle.NoPen)
        for i, (c, r) in enumerate((("#5d6b8a", 34), ("#7c6a8e", 26), ("#4d7a78", 30))):
            painter.setBrush(QColor(c))
            painter.drawEllipse(14 + i * 36, 12 + (i % 2) * 14, r * 2, r)
    elif choice.colour is None:
        painter.setPen(QColor("#9aa3b2"))
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, (choice.entry.kind if choice.entry else "").upper())
    painter.end()
    return pixmap


class BackgroundGallery(QListWidget):
    """Emits `chosen(spec)` when the user picks a tile; `choices` lists them in order."""

    chosen = Signal(str)
    problem = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("Gallery")
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(THUMB)
        self.setGridSize(QSize(THUMB.width() + 16, THUMB.height() + 34))
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)  # one filmstrip row, scrolled sideways
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMovement(QListWidget.Movement.Static)
        self.setWordWrap(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.itemClicked.connect(lambda item: self.chosen.emit(item.data(SPEC_ROLE)))
        self.choices: list[Choice] = []
        self.user_dir: Path | None = None
        self.motion = MotionPreview(self)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.reload()

    def reload(self) -> None:
        """Scan the library again and rebuild the tiles (keeps the selection)."""
        current = self.currentItem().data(SPEC_ROLE) if self.currentItem() else None
        self.motion.stop()
        library = scan()
        self.user_dir = library.user_dir
        for line in library.problems:
            self.problem.emit(line)
        self.choices = list(BUILT_IN) + [Choice(e.name, str(e.path) if e.kind != "shader" else e.id, e)
                                         for e in library.entries]
        self.clear()
        for choice in self.choices:
            item = QListWidgetItem(QIcon(_pixmap_for(choice)), choice.label)
            item.setData(SPEC_ROLE, choice.spec)
            item.setData(ENTRY_ROLE, choice.entry)
            item.setToolTip(choice.entry.name if choice.entry else choice.label)
            self.addItem(item)
        if current:
            self.select_spec(current)

    def select_spec(self, spec: str) -> None:
        for row in range(self.count()):
            if self.item(row).data(SPEC_ROLE) == spec:
                self.setCurrentRow(row)
                return

    def choose_row(self, row: int) -> None:
        """Select tile `row` (0-based) as if clicked."""
        if 0 <= row < self.count():
            self.setCurrentRow(row)
            self.chosen.emit(self.item(row).data(SPEC_ROLE))

    # -- adding, renaming, removing user backgrounds -------------------------------------------
    def add_files(self, paths: list[Path]) -> list[Path]:
        """Copy usable files into the user folder; returns the copies."""
        added = []
        if self.user_dir is None:
            return added
        self.user_dir.mkdir(parents=True, exist_ok=True)
        for path in paths:
            if kind_of(path) is None:
                self.problem.emit(f"{path}: not a photo, video or shader file")
                continue
            target = self.user_dir / path.name
            n = 1
            while target.exists():
                target = self.user_dir / f"{path.stem}-{n}{path.suffix}"
                n += 1
            shutil.copy2(path, target)
            added.append(target)
        if added:
            self.reload()
        return added

    def mouseMoveEvent(self, event) -> None:
        item = self.itemAt(event.position().toPoint())
        if item is None:
            self.motion.stop()
        else:
            self.motion.play(item)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        self.motion.stop()
        super().leaveEvent(event)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.add_files(paths)
            event.acceptProposedAction()

    def _menu(self, pos) -> None:
        item = self.itemAt(pos)
        entry: Entry | None = item.data(ENTRY_ROLE) if item else None
        if entry is None or entry.origin != "user":
            return
        menu = QMenu(self)
        rename = menu.addAction("Rename…")
        remove = menu.addAction("Remove")
        action = menu.exec(self.mapToGlobal(pos))
        if action is rename:
            name, ok = QInputDialog.getText(self, "Rename background", "Name:", text=entry.path.stem)
            if ok and name.strip():
                self.rename(entry, name.strip())
        elif action is remove:
            self.remove(entry)

    def rename(self, entry: Entry, name: str) -> None:
        target = entry.path.with_name(name + entry.path.suffix)
        if target.exists():
            self.problem.emit(f"{target}: a background with that name exists")
            return
        entry.path.rename(target)
        self.reload()

    def remove(self, entry: Entry) -> None:
        entry.path.unlink(missing_ok=True)
        if entry.manifest is not None:
            entry.manifest.unlink(missing_ok=True)
        self.reload()
