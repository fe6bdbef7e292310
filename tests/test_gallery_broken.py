"""The panel's gallery (under Xvfb, pytest-xvfb) offers no tile for a broken background file
and says why each one is left out."""

from __future__ import annotations

import app.ui  # noqa: F401  (before Qt starts: keeps OpenCV's Qt plugin path away from PySide6)
from support import media

from app.ui.gallery import BackgroundGallery


def test_broken_user_files_get_no_tile_and_are_reported(qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    monkeypatch.setenv("BACKDROP_USER_BACKGROUNDS", str(folder))
    media.write_image(folder / "beach.jpg", media.gradient((64, 48)))
    (folder / "notes.png").write_text("text, not a picture\n")
    (folder / "empty.mp4").write_bytes(b"")
    reported: list[str] = []
    gallery = BackgroundGallery()
    qtbot.addWidget(gallery)
    gallery.problem.connect(reported.append)
    gallery.reload()
    mine = {c.entry.id for c in gallery.choices if c.entry is not None and c.entry.origin == "user"}
    assert mine == {"beach"}
    assert any(str(folder / "notes.png") in line for line in reported)
    assert any(str(folder / "empty.mp4") in line and "empty file" in line for line in reported)
