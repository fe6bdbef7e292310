"""Outputs are written under a temporary name beside the target and renamed at the end, so
a failure never leaves a half-written file and never touches an existing one.

Without --overwrite an existing target is refused twice: up front (`check_writable_target`)
and again at the final rename (`commit`), which then fails rather than replace a target that
another process wrote in the meantime.

A temporary name carries the id of the process writing it (`.NAME.partial-PID-XXXXXXXX.EXT`):
`remove_stale_partials` removes those whose process is gone (killed with SIGKILL, say), and
`discard_unfinished` the ones this process made and never committed (after a stop signal)."""

from __future__ import annotations

import errno
import os
import re
import shutil
import threading
import uuid
from pathlib import Path

from app.engine.core.errors import OutputError
from app.engine.core.processes import process_running

_KEEP_EXISTING: set[str] = set()  # targets checked without overwrite: `commit` must not replace them
_UNFINISHED: set[Path] = set()  # temporary names made here and not yet committed or discarded
_UNFINISHED_LOCK = threading.Lock()
_PARTIAL_NAME = re.compile(r"^\.(?P<stem>.*)\.partial-(?P<pid>\d+)-[0-9a-f]{8}(?P<suffix>(\.[^.]*)?)$")


def _key(target: Path) -> str:
    return os.path.abspath(target)  # lexical: a symlink put there later is still "there"


def already_exists(target: Path) -> OutputError:
    """The one-line error for an existing output written without --overwrite."""
    return OutputError(f"{target}: already exists (pass --overwrite to replace it)")


def probe_writable(folder: Path, target: Path) -> None:
    """Raise OutputError naming `target` unless a file can really be created in `folder`
    (created and removed at once: permission bits say nothing for root, a read-only mount does)."""
    probe = folder / f".backdrop-probe-{uuid.uuid4().hex[:8]}"
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{target}: folder {folder} is not writable ({exc.strerror or exc})") from None


def check_writable_target(target: Path, inputs: list[Path], overwrite: bool) -> None:
    """Raise OutputError if `target` is an input, exists (without `overwrite`), or its
    folder cannot be written. Without `overwrite`, a later `commit` to `target` refuses to
    replace whatever is there by then."""
    resolved = target.resolve()
    for inp in inputs:
        if inp.exists() and inp.resolve() == resolved:
            raise OutputError(f"{target}: output is the same path as the input; refusing to overwrite it")
    if os.path.lexists(target) and not overwrite:
        raise already_exists(target)
    parent = resolved.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise OutputError(f"{target}: folder {parent} {what}")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{target}: folder {parent} is not writable")
    probe_writable(parent, target)
    remove_stale_partials(parent, target)
    if not overwrite:
        _KEEP_EXISTING.add(_key(target))


def partial_path(target: Path) -> Path:
    """A unique temporary name beside `target`, keeping its extension and naming this
    process; it counts as unfinished (`discard_unfinished`) until committed or discarded."""
    partial = target.with_name(f".{target.stem}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}{target.suffix}")
    with _UNFINISHED_LOCK:
        _UNFINISHED.add(partial)
    return partial


def _finished_with(partial: Path) -> None:
    with _UNFINISHED_LOCK:
        _UNFINISHED.discard(partial)


def discard_unfinished() -> None:
    """Remove every temporary output this process made and has not committed or discarded."""
    with _UNFINISHED_LOCK:
        left = list(_UNFINISHED)
    for partial in left:
        discard(partial)


def remove_stale_partials(folder: Path, target: Path | None = None) -> list[Path]:
    """Remove the temporary outputs in `folder` (only those for `target`, if given) whose
    writing process no longer runs; returns what was removed. Names without a process id
    (an older version's) are left alone."""
    removed: list[Path] = []
    try:
        names = [entry.name for entry in os.scandir(folder)]
    except OSError:
        return removed
    for name in names:
        found = _PARTIAL_NAME.match(name)
        if not found or (target is not None and (found["stem"], found["suffix"]) != (target.stem, target.suffix)):
            continue
        pid = int(found.group("pid"))
        if pid != os.getpid() and not process_running(pid):
            discard(folder / name)
            removed.append(folder / name)
    return removed


def commit(partial: Path, target: Path, overwrite: bool | None = None) -> None:
    """Move the finished `partial` onto `target`. With `overwrite` (the default unless
    `check_writable_target` was told otherwise for `target`) an existing target is replaced,
    atomically for files; without it an existing target is kept, `partial` is discarded
    and OutputError says to pass --overwrite."""
    if overwrite is None:
        overwrite = _key(target) not in _KEEP_EXISTING
    try:
        if not overwrite:
            _commit_keeping_existing(partial, target)
        elif partial.is_dir() and target.exists():
            old = partial_path(target)
            target.rename(old)
            partial.rename(target)
            discard(old)
        else:
            os.replace(partial, target)
    finally:
        _finished_with(partial)  # after: a stop signal midway leaves it to `discard_unfinished`


def _commit_keeping_existing(partial: Path, target: Path) -> None:
    """Rename that fails if `target` exists, even if another process creates it meanwhile.

    A file is hard-linked to its final name and the temporary name then removed: link(2)
    fails with EEXIST when the name is taken, atomically (rename(2) would replace it), on
    every Linux file system with hard links. Where links are not supported (FAT, some FUSE
    mounts) it falls back to a check followed by a rename. A folder is renamed: rename(2)
    onto an existing non-empty folder fails (ENOTEMPTY), onto a file fails (ENOTDIR); only
    an empty folder can be replaced, which loses nothing."""
    try:
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists")
        if partial.is_dir():
            os.rename(partial, target)
            return
        try:
            os.link(partial, target)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            os.replace(partial, target)  # no hard links here: checked just above, not atomically
            return
        partial.unlink()
    except OSError as exc:
        discard(partial)
        if isinstance(exc, FileExistsError) or exc.errno in (errno.ENOTEMPTY, errno.ENOTDIR, errno.EEXIST):
            raise already_exists(target) from None
        raise OutputError(f"{target}: cannot be written ({exc.strerror or exc})") from None


def discard(partial: Path) -> None:
    """Remove an unfinished output."""
    _finished_with(partial)
    if partial.is_dir():
        shutil.rmtree(partial, ignore_errors=True)
    else:
        partial.unlink(missing_ok=True)
