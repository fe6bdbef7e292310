"""The command line starts and the engine imports without Qt."""

import subprocess
import sys


def test_engine_imports_no_qt():
    code = ("import sys, pkgutil, importlib, app.engine as e\n"
            "for m in pkgutil.walk_packages(e.__path__, 'app.engine.'): importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'shiboken'))]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("process", "remove", "devices"):
        assert command in out
