"""Whether a background file can be used, found cheaply when the library is listed: a photo
is decoded at an eighth of its size, a video's first frame is decoded, a scene shader is
compiled headless (without OpenGL its text is only preprocessed). Verdicts are remembered
in a small JSON file in the user's data folder, keyed by (path, mtime, size), so an
unchanged file is checked once.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from app.engine.core.assets import user_data_dir
from app.engine.core.errors import InputError
from app.engine.gl import context
from app.engine.gl.runtime import GlRuntime
from app.engine.imaging.images import load_photo
from app.engine.imaging.media import decode_error, open_video_input

log = logging.getLogger("backdrop.backgrounds")

CACHE_NAME = "background-checks.json"
CACHE_VERSION = 1
PILLOW_ONLY = {".heic", ".heif", ".avif"}  # photo formats only Pillow (with pillow-heif) decodes
_MAIN = re.compile(r"\bvoid\s+main\s*\(")


@dataclass(frozen=True)
class Verdict:
    """Why a file cannot be used (`problem`, one line; None when it can), and whether the
    check was complete (`final`): only final verdicts are remembered."""

    problem: str | None
    final: bool = True


def _reason(path: Path, exc: BaseException) -> str:
    """The error's message as one line, without the leading path it usually starts with."""
    text = " ".join(str(exc).split())
    for prefix in (f"{path}: ", f"{path.name}: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def check_photo(path: Path) -> Verdict:
    """Usable when the image decodes (at an eighth of its size: cheap for JPEG)."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        return Verdict(f"cannot read ({exc.strerror or exc})")
    if data.size == 0:
        return Verdict("empty file")
    if path.suffix.lower() in PILLOW_ONLY:  # formats OpenCV does not read
        try:
            load_photo(path, 64)
            return Verdict(None)
        except InputError:
            return Verdict("not a readable image (corrupt or unsupported format)")
    if cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8) is None:
        return Verdict("not a readable image (corrupt or unsupported format)")
    return Verdict(None)


def check_video(path: Path) -> Verdict:
    """Usable when it opens with a video stream and its first frame decodes."""
    if path.is_file() and path.stat().st_size == 0:
        return Verdict("empty file")
    try:
        with open_video_input(path) as container:
            try:
                next(container.decode(container.streams.video[0]))
            except StopIteration:
                return Verdict("has no video frames")
            except av.FFmpegError as exc:
                return Verdict(_reason(path, decode_error(path, exc)))
    except InputError as exc:
        return Verdict(_reason(path, exc))
    return Verdict(None)


def check_shader(path: Path, runtime: GlRuntime | None) -> Verdict:
    """Usable when it compiles as a scene on `runtime` (the headless GL runtime). Without
    one only its text is checked (readable, has a main, includes found): not final."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Verdict(f"cannot read shader ({exc})")
    if not _MAIN.search(text):
        return Verdict("not a scene shader: it has no `void main()`")
    from app.engine.gl import (
        procedural,  # imports OpenGL: only when a shader is checked
        shaders,
    )

    try:
        if runtime is None:
            shaders.scene_source(text, str(path))
            return Verdict(None, final=False)
        renderer = runtime.call(procedural.SceneRenderer, runtime, text, str(path))
        runtime.call(renderer.delete)
    except InputError as exc:  # ShaderError: a missing include, or the compiler's message
        return Verdict(_reason(path, exc))
    return Verdict(None)


def cache_path() -> Path:
    """The file verdicts are remembered in."""
    return user_data_dir() / CACHE_NAME


class CheckCache:
    """Verdicts by file, read from and written back to `path` (default `cache_path()`). An
    unreadable cache is treated as empty; one that cannot be written is skipped (logged).
    The GL runtime is held from the first shader checked until `save()`."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else cache_path()
        self.files: dict[str, dict[str, Any]] = {}
        self._changed = False
        self._runtime: GlRuntime | None = None
        self._gl_tried = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return
        if isinstance(data, dict) and data.get("version") == CACHE_VERSION and isinstance(data.get("files"), dict):
            self.files = {k: v for k, v in data["files"].items() if isinstance(v, dict)}

    def problem_of(self, path: Path, kind: str) -> str | None:
        """Why `path` (a `kind` file) cannot be used, None when it can; checked only when
        its path, mtime, size or kind differ from what was remembered."""
        try:
            stat = path.stat()
        except OSError as exc:
            return f"cannot read ({exc.strerror or exc})"
        key = str(path.resolve())
        remembered = self.files.get(key)
        if remembered is not None and remembered.get("mtime_ns") == stat.st_mtime_ns \
                and remembered.get("size") == stat.st_size and remembered.get("kind") == kind:
            problem = remembered.get("problem")
            return problem if isinstance(problem, str) else None
        if kind == "shader":
            verdict = check_shader(path, self._gl())
        else:
            verdict = check_photo(path) if kind == "photo" else check_video(path)
        if verdict.final:
            self.files[key] = {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size, "kind": kind,
                               "problem": verdict.problem}
            self._changed = True
        return verdict.problem

    def _gl(self) -> GlRuntime | None:
        if not self._gl_tried:
            self._gl_tried = True
            try:
                self._runtime = context.acquire()
            except context.GlUnavailable as exc:
                log.debug("checking scenes without OpenGL (%s): their text only", exc)
        return self._runtime

    def save(self) -> None:
        """Let go of the GL runtime; write the verdicts back if any changed, forgetting
        files that are gone."""
        if self._runtime is not None:
            context.release(self._runtime)
            self._runtime, self._gl_tried = None, False
        gone = [key for key in self.files if not Path(key).exists()]
        for key in gone:
            del self.files[key]
        if not (self._changed or gone):
            return
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps({"version": CACHE_VERSION, "files": self.files}, indent=1),
                               encoding="utf-8")
            os.replace(partial, self.path)
        except OSError as exc:
            log.debug("could not remember background checks in %s: %s", self.path, exc)
            partial.unlink(missing_ok=True)
            return
        self._changed = False
