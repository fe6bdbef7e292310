"""Installed backgrounds: the ones that ship in backgrounds/ and the user's own folder,
each found by its id. Scanning reads manifests and checks that the user's files can be
used (`checks`: cheap, remembered per file); media are opened when chosen.
The manifest format: docs/backgrounds.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.engine.backgrounds.base import NAMED_COLOURS
from app.engine.backgrounds.checks import CheckCache
from app.engine.backgrounds.kinds import kind_of
from app.engine.core.assets import (
    shaders_dir,
    shipped_backgrounds_dir,
    user_backgrounds_dir,
)
from app.engine.core.errors import InputError

KINDS = ("photo", "video", "shader")


@dataclass(frozen=True)
class Entry:
    """One installed background."""

    id: str
    name: str
    kind: str
    path: Path
    origin: str  # "shipped" or "user"
    thumbnail: Path | None = None
    still: Path | None = None
    render_scale: float = 0.5
    manifest: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    broken: str | None = None  # why its file cannot be used (None: usable, or not checked)


def problem_line(entry: Entry) -> str:
    """The line `Library.problems` holds for a broken entry: its file and why."""
    return f"{entry.path}: {entry.broken}"


@dataclass
class Library:
    """What a scan found: the usable `entries`; the `broken` ones, each with its reason;
    and one line in `problems` for each thing it could not use (broken entries included)."""

    entries: list[Entry]
    problems: list[str]
    user_dir: Path
    broken: list[Entry] = field(default_factory=list)

    def find(self, name: str) -> Entry | None:
        """The entry whose id (or, failing that, display name) is `name`, ignoring case;
        usable entries first, then broken ones (opening one says why it fails)."""
        key = name.strip().lower()
        candidates = self.entries + self.broken
        for entry in candidates:
            if entry.id.lower() == key:
                return entry
        for entry in candidates:
            if entry.name.lower() == key:
                return entry
        return None


def read_manifest(path: Path, origin: str) -> Entry:
    """The entry a manifest describes; InputError naming the manifest if it is unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a manifest must be a JSON object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise InputError(f"{path}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    folder = path.parent
    if "shader" in data and kind == "shader":
        file = shaders_dir() / str(data["shader"])
    elif "file" in data:
        file = folder / str(data["file"])
    else:
        raise InputError(f"{path}: says no file (give \"file\")")
    if not file.is_file():
        raise InputError(f"{path}: its file {file} does not exist")

    def optional(key: str) -> Path | None:
        if key not in data:
            return None
        p = folder / str(data[key])
        if not p.is_file():
            raise InputError(f"{path}: its {key} {p} does not exist")
        return p

    try:
        scale = float(data.get("render_scale", 0.5))
    except (TypeError, ValueError):
        raise InputError(f"{path}: render_scale must be a number, got {data.get('render_scale')!r}") from None
    known = {"name", "kind", "file", "shader", "thumbnail", "still", "render_scale"}
    return Entry(id=path.stem, name=str(data.get("name", path.stem)), kind=kind, path=file, origin=origin,
                 thumbnail=optional("thumbnail"), still=optional("still"), render_scale=scale, manifest=path,
                 extra={k: v for k, v in data.items() if k not in known})


def _scan_folder(folder: Path, origin: str, taken: set[str]) -> tuple[list[Entry], list[str]]:
    entries: list[Entry] = []
    problems: list[str] = []
    if not folder.is_dir():
        return entries, problems
    described: set[Path] = set()
    for manifest in sorted(folder.glob("*.json")):
        try:
            entry = read_manifest(manifest, origin)
        except InputError as exc:
            problems.append(str(exc))
            continue
        described.update(p.resolve() for p in (entry.path, entry.thumbnail, entry.still) if p is not None)
        entries.append(entry)
    if origin == "user":
        for file in sorted(folder.iterdir()):
            kind = kind_of(file)
            if kind is None or not file.is_file() or file.resolve() in described:
                continue
            entries.append(Entry(id=file.stem, name=file.stem, kind=kind, path=file, origin=origin))
    unique = []
    for entry in entries:
        if entry.id.lower() in taken:
            renamed = f"{origin}:{entry.id}"
            problems.append(f"{entry.manifest or entry.path}: id {entry.id!r} is taken; listed as {renamed!r}")
            entry = Entry(**{**entry.__dict__, "id": renamed})
        taken.add(entry.id.lower())
        unique.append(entry)
    return unique, problems


def _split_broken(entries: list[Entry], cache: CheckCache) -> tuple[list[Entry], list[Entry]]:
    """The usable entries and the broken ones (each with its reason)."""
    usable, broken = [], []
    for entry in entries:
        problem = cache.problem_of(entry.path, entry.kind)
        if problem is None:
            usable.append(entry)
        else:
            broken.append(replace(entry, broken=problem))
    return usable, broken


def scan(user_dir: Path | None = None, check: bool = True) -> Library:
    """Shipped backgrounds first, then the user's folder (default: the platform's). With
    `check`, the user's files are checked (verdicts remembered: `checks.CheckCache`) and
    broken ones are moved to `Library.broken`; shipped ones are trusted."""
    user = user_dir if user_dir is not None else user_backgrounds_dir()
    taken = {"blur", "transparent", "none", *NAMED_COLOURS}  # these never reach the library
    try:
        shipped, problems = _scan_folder(shipped_backgrounds_dir(), "shipped", taken)
    except InputError as exc:  # the shipped folder is missing (a broken install)
        shipped, problems = [], [str(exc)]
    mine, more = _scan_folder(user, "user", taken)
    broken: list[Entry] = []
    if check and mine:
        cache = CheckCache()
        try:
            mine, broken = _split_broken(mine, cache)
        finally:
            cache.save()
    return Library(shipped + mine, problems + more + [problem_line(e) for e in broken], user, broken)
