"""One table of the file kinds a background can be made from; the CLI, the library and the
panel's file dialogs all read it."""

from __future__ import annotations

from pathlib import Path

from app.engine.imaging.images import IMAGE_EXTENSIONS

VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".gif"})
SHADER_EXTENSIONS = frozenset({".frag", ".glsl"})

FILE_KINDS: dict[str, frozenset[str]] = {
    "photo": frozenset(IMAGE_EXTENSIONS),
    "video": VIDEO_EXTENSIONS,
    "shader": SHADER_EXTENSIONS,
}
KIND_LABELS = {"photo": "Photos", "video": "Videos", "shader": "Scene shaders"}


def kind_of(path: Path) -> str | None:
    """photo, video or shader by file extension; None for anything else."""
    suffix = path.suffix.lower()
    return next((kind for kind, extensions in FILE_KINDS.items() if suffix in extensions), None)


def dialog_filter(*kinds: str) -> str:
    """A Qt file-dialog filter for `kinds` (all kinds when none are named), e.g.
    "Photos, videos (*.jpg *.png *.mp4)"."""
    kinds = kinds or tuple(FILE_KINDS)
    patterns = " ".join(f"*{ext}" for kind in kinds for ext in sorted(FILE_KINDS[kind]))
    label = ", ".join(KIND_LABELS[k].lower() for k in kinds)
    return f"{label[0].upper()}{label[1:]} ({patterns})"
