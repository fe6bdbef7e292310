"""The panel's settings file: one flat JSON object holding the engine's LiveSettings and the
panel's own PanelSettings, both validated field by field from their declarations.

A file that is not a JSON object is set aside (renamed `.corrupt-<time>`) and defaults are
used. A file with some invalid fields is kept as `.corrupt-<time>` (a copy); each invalid
field takes its default, the valid ones are kept. Either way a warning line is returned:
a bad file never stops the panel from opening.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from app.engine.live.fields import FloatSetting, SettingsModel, TextSetting
from app.engine.live.settings import LiveSettings

VIEWS = ("before", "after", "matte")


class PanelSettings(SettingsModel):
    """What the panel remembers for itself (the engine's settings are LiveSettings)."""

    view = TextSetting("after", VIEWS)
    blur_strength = FloatSetting(24.0, 4, 80)
    record_path = TextSetting("")
    stream_url = TextSetting("")
    window_geometry = TextSetting("")
    window_state = TextSetting("")


@dataclass
class Loaded:
    """What `load` found: both models, and a warning for the user (None: the file was fine),
    whole and in short (naming the fields, for the status bar)."""

    live: LiveSettings
    panel: PanelSettings
    problem: str | None = None
    summary: str | None = None


def default_path() -> Path:
    """settings.json in the platform's config folder for Backdrop."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(base or Path.home() / ".config") / "backdrop" / "settings.json"


def _aside_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside, n = path.with_name(f"{path.name}.corrupt-{stamp}"), 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    return aside


def load(path: Path) -> Loaded:
    """The saved settings, each invalid field at its default (see the module's docstring)."""
    if not path.exists():
        return Loaded(LiveSettings(), PanelSettings())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        aside = _aside_name(path)
        try:
            path.rename(aside)
        except OSError:
            aside = path
        line = f"settings file {path} could not be read ({exc}); set aside as {aside.name}, using defaults"
        return Loaded(LiveSettings(), PanelSettings(), line, line)
    live, live_problems = LiveSettings.from_dict(data)
    panel, panel_problems = PanelSettings.from_dict(data)
    problems = {**live_problems, **panel_problems}
    if not problems:
        return Loaded(live, panel)
    aside = _aside_name(path)
    try:
        shutil.copyfile(path, aside)
        kept, short = f"the file as it was is kept as {aside.name}", f"old file kept as {aside.name}"
    except OSError as exc:
        kept = short = f"the file could not be copied aside ({exc})"
    return Loaded(live, panel, f"settings file {path}: {'; '.join(problems.values())} ({kept})",
                  f"Invalid settings reset to defaults: {', '.join(problems)} ({short})")


def save(live: LiveSettings, panel: PanelSettings, path: Path) -> None:
    """Write both models' persisted fields atomically (temporary name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({**live.to_dict(), **panel.to_dict()}, indent=2), encoding="utf-8")
    partial.replace(path)
