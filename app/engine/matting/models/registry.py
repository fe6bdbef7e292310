"""The models Backdrop knows: the MediaPipe selfie models inside the mediapipe wheel, the
ones shipped with Backdrop (`shipped/*.json`), and those fetched into the user's models
folder. Every file is checked against its manifest's sha256 before it is used."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.engine.core.assets import user_models_dir
from app.engine.core.errors import InputError
from app.engine.matting.models.manifest import Manifest, sha256_of

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
_verified: dict[tuple[Path, int, float], str] = {}  # (path, size, mtime) -> sha256, once per process


@dataclass(frozen=True)
class Entry:
    """A known model and where its weights are (or would be, once fetched)."""

    manifest: Manifest
    path: Path

    @property
    def installed(self) -> bool:
        return self.path.is_file()


def manifests() -> list[Manifest]:
    """Every shipped or fetchable model's manifest, by name."""
    return sorted((Manifest.load(p) for p in SHIPPED_DIR.glob("*.json")), key=lambda m: m.name)


def entries() -> list[Entry]:
    return [Entry(m, weights_path(m)) for m in manifests()]


def weights_path(manifest: Manifest) -> Path:
    """Where the model's file is: beside its manifest when shipped, else the user's folder."""
    return (manifest.folder if manifest.shipped else user_models_dir()) / manifest.file


def find(name: str) -> Manifest | None:
    return next((m for m in manifests() if m.name == name.lower()), None)


def locate(manifest: Manifest) -> Path:
    """The model's file, checked against its sha256; InputError naming the model and what
    to do when it is missing or altered."""
    path = weights_path(manifest)
    if not path.is_file():
        if manifest.shipped:
            raise InputError(f"model {manifest.name}: {path} is missing (reinstall Backdrop)")
        raise InputError(f"model {manifest.name} is not installed: run `backdrop models fetch {manifest.name}`")
    verify(manifest, path)
    return path


def verify(manifest: Manifest, path: Path) -> None:
    """InputError when `path` is not the file the manifest describes."""
    stat = path.stat()
    key = (path, stat.st_size, stat.st_mtime)
    if key not in _verified:
        _verified[key] = sha256_of(path)
    if _verified[key] != manifest.sha256:
        raise InputError(f"model {manifest.name}: {path} does not match its sha256 (corrupt or replaced; "
                         + ("reinstall Backdrop)" if manifest.shipped else f"run `backdrop models fetch {manifest.name}`)"))
