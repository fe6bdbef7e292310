"""Panel settings persisted as JSON in the platform's config folder.

A file that cannot be read is set aside (renamed with a `.corrupt-<time>` suffix), a
warning is given, and defaults are used: a bad file never stops the panel from opening.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.engine.matting.presets import MatteSettings


@dataclass
class PanelSettings:
    """What the panel remembers between runs."""

    camera: str = "0"
    size: str = "1280x720"
    fps: float = 30.0
    background: str = "blur"
    preset: str = MatteSettings.preset  # the matte defaults are the engine's own
    model: str = "auto"  # "auto" (the preset picks for the camera's shape), "general", "landscape"
    smoothing: float = MatteSettings.smoothing
    softness: float = MatteSettings.softness
    threshold: float = MatteSettings.threshold
    grow: float = MatteSettings.grow
    feather: float = MatteSettings.feather
    invert: bool = MatteSettings.invert
    blur_strength: float = 24.0
    light_wrap: float = 0.0
    colour_match: float = 0.0
    virtual_camera: bool = True
    mic: str = "default"
    virtual_mic: bool = True
    av_offset_ms: float = 0.0
    record_path: str = ""
    stream_url: str = ""
    view: str = "after"
    window_geometry: str = ""
    window_state: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def default_path() -> Path:
    """settings.json in the platform's config folder for Backdrop."""
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(base or Path.home() / ".config") / "backdrop" / "settings.json"


def load(path: Path) -> tuple[PanelSettings, str | None]:
    """The saved settings, or defaults; the second value is a warning for the user, if any."""
    if not path.exists():
        return PanelSettings(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = {f.name for f in fields(PanelSettings)}
        settings = PanelSettings(**{k: v for k, v in data.items() if k in known})
        return settings, None
    except (OSError, ValueError, TypeError) as exc:
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            path.rename(aside)
        except OSError:
            aside = path
        return PanelSettings(), f"settings file {path} could not be read ({exc}); set aside as {aside.name}, using defaults"


def save(settings: PanelSettings, path: Path) -> None:
    """Write atomically (temporary name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    partial.replace(path)
