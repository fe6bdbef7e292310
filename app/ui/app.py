"""`backdrop` with no arguments: the control panel."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from app.commands import COMMANDS
from app.commands.signals import calling_on_stop_signals, exit_status, signal_name
from app.engine.core.errors import BackdropError
from app.ui.theme import STYLESHEET

HEADLESS_COMMANDS = ", ".join(COMMANDS)
X_SOCKETS = Path("/tmp/.X11-unix")
PROBE_TIMEOUT_S = 1.0
SIGNAL_POLL_MS = 100  # how often Qt's loop lets Python run its signal handlers
# the Qt platforms (QT_QPA_PLATFORM) that need a window system; any other one is trusted as set
_NEEDS_X, _NEEDS_WAYLAND = ("xcb",), ("wayland", "wayland-egl", "wayland-brcm")


def _connects(family: int, address: object) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(PROBE_TIMEOUT_S)
            sock.connect(address)
        return True
    except OSError:
        return False


def _x_display_reachable(display: str) -> bool:
    """Whether an X server answers at `display` (":0", "unix:0.0", "host:10.0")."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix") or host.startswith("/"):
        path = host if host.startswith("/") else str(X_SOCKETS / f"X{number}")
        return _connects(socket.AF_UNIX, path) or _connects(socket.AF_UNIX, "\0" + path)
    return _connects(socket.AF_INET, (host, 6000 + int(number)))


def _wayland_reachable(name: str) -> bool:
    path = Path(name) if name.startswith("/") else Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")) / name
    return _connects(socket.AF_UNIX, str(path))


def display_problem(env: dict[str, str] | None = None) -> str | None:
    """Why Qt could not open a window here (no DISPLAY/WAYLAND_DISPLAY, or no server answers
    there), or None. Checked without Qt, which aborts the process when it has no display.
    Only on Linux and the BSDs: macOS and Windows always have their own window system."""
    env = dict(os.environ) if env is None else env
    if sys.platform in ("darwin", "win32"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform and platform not in _NEEDS_X + _NEEDS_WAYLAND:
        return None  # offscreen, minimal, vnc, eglfs, linuxfb ...: no window system needed
    display, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if platform not in _NEEDS_X and wayland and _wayland_reachable(wayland):
        return None
    if platform not in _NEEDS_WAYLAND and display and _x_display_reachable(display):
        return None
    if not display and not wayland:
        return "no DISPLAY or WAYLAND_DISPLAY is set"
    return f"no display server answers at {display or wayland}"


def run_panel(argv: list[str] | None = None) -> int:
    """Open the panel and run Qt's event loop until the window closes. Without a display:
    BackdropError, one line naming the commands that work without one (Qt is not loaded)."""
    problem = display_problem()
    if problem:
        raise BackdropError(f"the panel needs a display ({problem}); without one use "
                            f"`backdrop COMMAND`, where COMMAND is one of {HEADLESS_COMMANDS}")
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow

    from PySide6.QtCore import QTimer

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Backdrop")
    app.setStyleSheet(STYLESHEET)
    stopped_by: list[int] = []

    def on_signal(signum: int) -> None:  # closed as by its window's close button, then the loop ends
        stopped_by.append(signum)
        QTimer.singleShot(0, lambda: (window.close(), app.quit()))  # (runs once the loop does)

    poll = QTimer()  # Python runs signal handlers only between its own steps, not inside Qt's loop
    poll.timeout.connect(lambda: None)
    poll.start(SIGNAL_POLL_MS)
    with calling_on_stop_signals(on_signal):  # from before the session starts: it is always closed
        window = MainWindow()
        window.show()
        status = app.exec()
    poll.stop()
    if stopped_by:
        print(f"backdrop: stopped by {signal_name(stopped_by[0])}; settings saved, session closed", file=sys.stderr)
        return exit_status(stopped_by[0])
    return status
