"""The models Backdrop knows: the MediaPipe selfie models inside the mediapipe wheel, the
ones shipped with Backdrop (`shipped/*.json`), those fetched into the user's models folder,
and the user's own trained there by `backdrop train` (a manifest `NAME.json` beside
`NAME.onnx`). Every file is checked against its manifest's sha256 before it is used."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.engine.core.assets import user_models_dir
from app.engine.core.errors import InputError
from app.engine.matting.models.manifest import Manifest, sha256_of

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
log = logging.getLogger("backdrop.models")
_warned: set[str] = set()  # unreadable user manifests already said, once per process
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
    """Every shipped, fetchable or user-trained model's manifest, by name."""
    shipped = [Manifest.load(p) for p in SHIPPED_DIR.glob("*.json")]
    return sorted(shipped + user_manifests({m.name for m in shipped}), key=lambda m: m.name)


def user_manifests(taken: set[str] = frozenset()) -> list[Manifest]:
    """The manifests of the user's own models (`backdrop train`) in the user's models folder.
    One that cannot be read, or that takes a shipped model's name, is said once and left out."""
    found = []
    for path in sorted(user_models_dir().glob("*.json")) if user_models_dir().is_dir() else []:
        try:
            manifest = Manifest.load(path)
        except InputError as exc:
            _warn_once(str(path), f"{exc}: left out of the models")
            continue
        if manifest.name in taken or manifest.shipped:
            _warn_once(str(path), f"{path}: takes the name of a shipped model ({manifest.name}): left out")
            continue
        found.append(manifest)
    return found


def _warn_once(key: str, line: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning("%s", line)


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
        if manifest.trained:
            raise InputError(f"model {manifest.name}: {path} is missing (train it again with `backdrop train`)")
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
                         + ("reinstall Backdrop)" if manifest.shipped else "train it again)" if manifest.trained
                            else f"run `backdrop models fetch {manifest.name}`)"))
