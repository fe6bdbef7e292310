"""Outputs are written under a temporary name beside the target and renamed at the end, so
a failure never leaves a half-written file and never touches an existing one."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from app.engine.core.errors import OutputError


def check_writable_target(target: Path, inputs: list[Path], overwrite: bool) -> None:
    """Raise OutputError if `target` is an input, exists (without `overwrite`), or its
    folder cannot be written."""
    resolved = target.resolve()
    for inp in inputs:
        if inp.exists() and inp.resolve() == resolved:
            raise OutputError(f"{target}: output is the same path as the input; refusing to overwrite it")
    if target.exists() and not overwrite:
        raise OutputError(f"{target}: already exists (pass --overwrite to replace it)")
    parent = resolved.parent
    if not parent.is_dir():
        raise OutputError(f"{target}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{target}: folder {parent} is not writable")


def partial_path(target: Path) -> Path:
    """A unique temporary name beside `target`, keeping its extension."""
    return target.with_name(f".{target.stem}.partial-{uuid.uuid4().hex[:8]}{target.suffix}")


def commit(partial: Path, target: Path) -> None:
    """Move the finished `partial` onto `target` (replacing it atomically for files)."""
    if partial.is_dir() and target.exists():
        old = partial_path(target)
        target.rename(old)
        partial.rename(target)
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    else:
        os.replace(partial, target)


def discard(partial: Path) -> None:
    """Remove an unfinished output."""
    if partial.is_dir():
        shutil.rmtree(partial, ignore_errors=True)
    else:
        partial.unlink(missing_ok=True)
