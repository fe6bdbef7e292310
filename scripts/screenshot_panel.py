"""Screenshots of the panel in use, for looking at it as a user would.

    xvfb-run -a -s "-screen 0 2560x1440x24" .venv/bin/python scripts/screenshot_panel.py OUTDIR

Runs the real panel on the demo source (no camera needed) with a throwaway settings file,
picks a background, and writes PNGs: 1366x768 at scale 1 (after and matte views), and
2560x1440 at scale 2 (a HiDPI screen: the same layout, every pixel doubled). Each size runs
in its own process, since Qt reads the scale factor once at start. With a sound server
running, the microphone is on, so the audio card shows its delay.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHOTS = ((1, (1366, 768)), (2, (2560, 1440)))


def pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot(outdir: Path, scale: int, size: tuple[int, int]) -> None:
    """One window at `size` device pixels; scale set by the parent through QT_SCALE_FACTOR."""
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    import app.ui  # noqa: F401  (keeps OpenCV's Qt plugin path away from PySide6)
    from PySide6.QtWidgets import QApplication

    from app.engine.audio import pulse
    from app.engine.live.settings import LiveSettings
    from app.ui import settings_store
    from app.ui.main_window import MainWindow
    from app.ui.settings_store import PanelSettings
    from app.ui.theme import STYLESHEET

    app = QApplication(sys.argv[:1])
    app.setStyleSheet(STYLESHEET)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settings.json"
        mic = "default" if pulse.server_running() else "none"
        settings_store.save(LiveSettings(camera="demo", size=(1280, 720), mic=mic, light_wrap=0.35), PanelSettings(), path)
        window = MainWindow(settings_path=path, vcam_backend=None)
        window.resize(size[0] // scale, size[1] // scale)
        window.show()
        pump(app, 3.0)
        window.gallery.choose_row(min(6, window.gallery.count() - 1))
        pump(app, 3.0)
        views = ("after", "matte") if scale == 1 else ("after",)
        for view in views:
            window._set_view(view)
            pump(app, 1.0)
            name = outdir / f"panel-{size[0]}x{size[1]}{'' if view == 'after' else '-' + view}.png"
            window.grab().save(str(name))
            print(name)
        window.close()
        pump(app, 0.5)


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--one":
        shoot(Path(sys.argv[2]), int(sys.argv[3]), (int(sys.argv[4]), int(sys.argv[5])))
        return 0
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    outdir.mkdir(parents=True, exist_ok=True)
    for scale, (w, h) in SHOTS:
        env = dict(os.environ, QT_SCALE_FACTOR=str(scale))
        subprocess.run([sys.executable, __file__, "--one", str(outdir), str(scale), str(w), str(h)], env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
