"""The command line starts and the engine imports without Qt."""

import subprocess
import sys
from pathlib import Path


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


def test_each_test_has_its_own_config_and_data_folders(tmp_path_factory):
    """conftest points XDG_CONFIG_HOME and XDG_DATA_HOME at this test's own folders, and both
    the panel's settings file and the user's backgrounds folder follow them."""
    import os

    from app.engine.core.assets import user_backgrounds_dir
    from app.ui.settings_store import default_path

    config, data = Path(os.environ["XDG_CONFIG_HOME"]), Path(os.environ["XDG_DATA_HOME"])
    assert config.is_relative_to(tmp_path_factory.getbasetemp())
    assert data.is_relative_to(tmp_path_factory.getbasetemp())
    assert default_path() == config / "backdrop" / "settings.json"
    assert user_backgrounds_dir().is_relative_to(data)
