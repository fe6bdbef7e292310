"""Where Backdrop's own files live: the shaders and backgrounds that ship with it, and the
user's own backgrounds folder.

Shipped files sit at the top of the source tree (`shaders/`, `backgrounds/`, beside the `app`
package), which is also where an editable install finds them. A regular install may carry
them as data files under `<prefix>/share/backdrop/`; `BACKDROP_DATA_DIR` overrides both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.engine.core.errors import InputError

APP_NAME = "backdrop"


def _candidates(name: str) -> list[Path]:
    found = []
    override = os.environ.get("BACKDROP_DATA_DIR")
    if override:
        found.append(Path(override).expanduser() / name)
    found.append(Path(__file__).resolve().parents[3] / name)  # source tree / editable install
    found.append(Path(sys.prefix) / "share" / APP_NAME / name)  # wheel data files
    return found


def data_dir(name: str) -> Path:
    """The shipped folder `name` ("shaders" or "backgrounds"); InputError if none exists."""
    candidates = _candidates(name)
    for path in candidates:
        if path.is_dir():
            return path
    raise InputError(f"{name}/: the folder that ships with Backdrop was not found "
                     f"(looked in {', '.join(str(p) for p in candidates)})")


def shaders_dir() -> Path:
    return data_dir("shaders")


def shipped_backgrounds_dir() -> Path:
    return data_dir("backgrounds")


def user_data_dir() -> Path:
    """The platform's per-user data folder for Backdrop (not created here)."""
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
        return base / "Backdrop"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Backdrop"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / APP_NAME


def user_backgrounds_dir() -> Path:
    """Where a user drops their own backgrounds (`BACKDROP_USER_BACKGROUNDS` overrides)."""
    override = os.environ.get("BACKDROP_USER_BACKGROUNDS")
    if override:
        return Path(override).expanduser()
    return user_data_dir() / "backgrounds"


def user_models_dir() -> Path:
    """Where fetched models are kept (`BACKDROP_USER_MODELS` overrides)."""
    override = os.environ.get("BACKDROP_USER_MODELS")
    if override:
        return Path(override).expanduser()
    return user_data_dir() / "models"
