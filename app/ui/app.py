"""`backdrop` with no arguments: the control panel."""

from __future__ import annotations

import sys

from app.ui.theme import STYLESHEET


def run_panel(argv: list[str] | None = None) -> int:
    """Open the panel and run Qt's event loop until the window closes."""
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Backdrop")
    app.setStyleSheet(STYLESHEET)
    window = MainWindow()
    window.show()
    return app.exec()
