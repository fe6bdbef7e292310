"""`collect`: the (photo, mask) pairs of the DATA arguments of `backdrop train`, whatever
their format, with one line for each thing that could not be used."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.engine.sources.images import natural_key
from app.training.data.coco import is_coco, read_coco
from app.training.data.cvat import parse_cvat, read_cvat
from app.training.data.labelme import is_labelme, read_labelme
from app.training.data.masks import is_mask_folder, read_mask_folder
from app.training.data.pairs import Collected
from app.training.data.photos import group_of, is_photo

NOT_DATA = "not a mask folder, LabelMe folder, COCO JSON or CVAT XML"


def collect(paths: Sequence[Path]) -> Collected:
    """The pairs of every DATA path, in order, and their problem lines. Each path may be a
    mask folder (images/ + masks/, or photos + masks/), a folder of annotation files (LabelMe
    JSONs beside their photos, also in subfolders, which name the group; COCO JSONs and CVAT
    XMLs found there are read too), a COCO instances JSON, a LabelMe JSON or a CVAT "for
    images 1.1" XML. A path that is none of these or does not exist is a problem line; a
    photo annotated twice is used once (the first), with a line. Never raises for bad data."""
    result = Collected()
    sources: dict[str, str] = {}
    for path in paths:
        found = read_path(Path(path))
        result.problems.extend(found.problems)
        for pair in found.pairs:
            key = os.path.normcase(os.path.abspath(pair.image))
            if key in sources:
                result.problems.append(f"{pair.image}: annotated twice ({sources[key]} and {pair.source}): "
                                       "the first is used")
                continue
            sources[key] = pair.source
            result.pairs.append(pair)
    return result


def read_path(path: Path) -> Collected:
    """The pairs and problem lines of one DATA path."""
    if not path.exists():
        return Collected([], [f"{path}: no such file or folder"])
    if path.is_dir():
        return read_mask_folder(path) if is_mask_folder(path) else read_annotation_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_json(path)
    if suffix == ".xml":
        return read_cvat(path)
    return Collected([], [f"{path}: {NOT_DATA}"])


def read_json(path: Path, group: str | None = None, seen: set[Path] | None = None) -> Collected:
    """A COCO instances JSON or a LabelMe JSON (whose pair gets `group`)."""
    try:
        data = load_json(path)
        reader = json_reader(data)
    except ValueError as exc:
        return Collected([], [f"{path}: {exc}"])
    return read_coco(path, data, seen) if reader == "coco" else read_labelme(path, data, group, seen)


def load_json(path: Path) -> Any:
    """The parsed JSON file; ValueError saying why it cannot be read."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"not readable JSON ({exc})") from None
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from None


def json_reader(data: object) -> str:
    """"coco" or "labelme" for parsed JSON; ValueError if it is neither."""
    if is_coco(data):
        return "coco"
    if is_labelme(data):
        return "labelme"
    raise ValueError("a JSON file but neither COCO instances (images, annotations) nor LabelMe (shapes)")


def read_annotation_folder(folder: Path) -> Collected:
    """Every LabelMe/COCO JSON and CVAT XML in `folder` and its subfolders (hidden ones
    left out; a LabelMe pair's group is its JSON's subfolder), each file's problems as
    lines; then a line for each photo there that no annotation named. With no annotation
    file: one more line naming `folder`."""
    found = Collected()
    seen: set[Path] = set()
    files = sorted(_visible_files(folder), key=lambda p: [natural_key(Path(s)) for s in p.relative_to(folder).parts])
    read = 0
    for path in files:
        suffix = path.suffix.lower()
        if suffix not in (".json", ".xml"):
            continue
        try:
            parsed = parse_cvat(path) if suffix == ".xml" else load_json(path)
            reader = "cvat" if suffix == ".xml" else json_reader(parsed)
        except ValueError as exc:
            found.problems.append(f"{path}: {exc}")
            continue
        read += 1
        if reader == "cvat":
            found.add(read_cvat(path, seen, parsed))
        elif reader == "coco":
            found.add(read_coco(path, parsed, seen))
        else:
            found.add(read_labelme(path, parsed, group_of(path.parent.relative_to(folder).as_posix()), seen))
    if not read:
        found.problems.append(f"{folder}: {NOT_DATA} (no masks/ folder and no annotation .json or .xml file)")
        return found
    named = {os.path.normcase(os.path.abspath(p)) for p in seen}
    for path in files:
        if is_photo(path) and os.path.normcase(os.path.abspath(path)) not in named:
            found.problems.append(f"{path}: photo without an annotation")
    return found


def _visible_files(folder: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found.extend(Path(dirpath) / name for name in filenames if not name.startswith("."))
    return found
