"""Screenshots of the panel in use, for looking at it as a user would.

    xvfb-run -a -s "-screen 0 2560x1440x24" .venv/bin/python scripts/screenshot_panel.py OUTDIR

Runs the real panel on the demo source (no camera needed) with a throwaway settings file,
picks a background, and writes PNGs at 1366x768 and 2560x1440.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    outdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from PySide6.QtWidgets import QApplication

    from app.ui import settings_store
    from app.ui.main_window import MainWindow
    from app.ui.settings_store import PanelSettings
    from app.ui.theme import STYLESHEET

    app = QApplication(sys.argv[:1])
    app.setStyleSheet(STYLESHEET)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settings.json"
        settings_store.save(PanelSettings(camera="demo", size="1280x720"), path)
        window = MainWindow(settings_path=path, vcam_backend=None)
        for (w, h), name in (((1366, 768), "panel-1366x768.png"), ((2560, 1440), "panel-2560x1440.png")):
            window.resize(w, h)
            window.show()
            pump(app, 3.0)
            window.gallery.choose_row(min(6, window.gallery.count() - 1))
            pump(app, 2.0)
            window.grab().save(str(outdir / name))
            print(outdir / name)
        window.close()
        pump(app, 0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
