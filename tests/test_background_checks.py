"""Broken files in the user's backgrounds folder: found when the library is listed, listed
as broken with the reason, remembered per (path, mtime, size), checked again when changed;
and `backdrop backgrounds --json | head -1` ends quietly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from support import media
import cv2
import numpy as np
import pytest

from app.engine.backgrounds import checks, library
from app.engine.backgrounds.spec import parse_background
from app.engine.core.errors import InputError
from app.engine.gl import context

GOOD_SCENE = "void main() { fragColor = vec4(0.2, 0.4, 0.6, 1.0); }\n"
TYPO_SCENE = "void main() { fragColor = vec4(1.0) }\n"  # no `;`: does not compile


def corrupt_jpeg() -> bytes:
    """A real JPEG's first 200 bytes (its headers) followed by noise."""
    ok, encoded = cv2.imencode(".jpg", media.gradient((320, 240)))
    assert ok
    noise = np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    return encoded.tobytes()[:200] + noise


def fill(folder: Path) -> None:
    """Good and broken files of every kind."""
    media.write_image(folder / "beach.jpg", media.gradient((64, 48)))
    media.make_video(folder / "loop.mp4", frames=3, size=(64, 48), audio=False)
    (folder / "glow.frag").write_text(GOOD_SCENE)
    (folder / "corrupt.jpg").write_bytes(corrupt_jpeg())
    (folder / "notes.png").write_text("this is text, not a picture\n")
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "typo.frag").write_text(TYPO_SCENE)
    (folder / "nomain.frag").write_text("float f(float x) { return x; }\n")
    (folder / "scan.png").write_text("text again\n")  # described by a manifest, so listed as "office"
    (folder / "office.json").write_text(json.dumps({"name": "Office", "kind": "photo", "file": "scan.png"}))


def by_id(entries: list[library.Entry]) -> dict[str, library.Entry]:
    return {e.id: e for e in entries if e.origin == "user"}


def test_broken_files_are_listed_as_broken_with_the_reason(user_dir):
    fill(user_dir)
    found = library.scan()
    usable, broken = by_id(found.entries), by_id(found.broken)
    assert set(usable) == {"beach", "loop", "glow"}
    assert set(broken) == {"corrupt", "notes", "empty", "typo", "nomain", "office"}
    assert "not a readable image" in broken["corrupt"].broken
    assert "not a readable image" in broken["notes"].broken and "not a readable image" in broken["office"].broken
    assert broken["empty"].broken == "empty file"
    assert "void main()" in broken["nomain"].broken
    if context.unavailable_reason() is None:  # the syntax error needs a compiler to be seen
        assert "does not compile" in broken["typo"].broken and "syntax error" in broken["typo"].broken
    problems = "\n".join(found.problems)
    for name in ("corrupt.jpg", "notes.png", "empty.mp4", "typo.frag", "nomain.frag", "scan.png"):
        assert str(user_dir / name) in problems, name
    assert all(e.broken is None for e in found.entries)
    with pytest.raises(InputError) as info:  # chosen by name anyway: opening it says why
        parse_background("corrupt")
    assert str(user_dir / "corrupt.jpg") in str(info.value)


def test_verdicts_are_remembered_until_the_file_changes(user_dir):
    fill(user_dir)
    library.scan()
    cache_file = checks.cache_path()
    remembered = json.loads(cache_file.read_text())["files"]
    beach = user_dir / "beach.jpg"
    entry = remembered[str(beach.resolve())]
    assert (entry["mtime_ns"], entry["size"], entry["problem"]) == (beach.stat().st_mtime_ns, beach.stat().st_size,
                                                                      None)
    assert remembered[str((user_dir / "empty.mp4").resolve())]["problem"] == "empty file"

    # A verdict planted for the unchanged file is what the next listing reports: it was not checked again.
    entry["problem"] = "planted verdict"
    cache_file.write_text(json.dumps({"version": checks.CACHE_VERSION, "files": remembered}))
    assert by_id(library.scan().broken)["beach"].broken == "planted verdict"

    # A changed file (new mtime) is checked again; so is one rewritten with good content.
    stat = beach.stat()
    os.utime(beach, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    media.write_image(user_dir / "corrupt.jpg", media.gradient((32, 24)))
    found = library.scan()
    assert {"beach", "corrupt"} <= set(by_id(found.entries))
    remembered = json.loads(cache_file.read_text())["files"]
    assert remembered[str(beach.resolve())]["mtime_ns"] == beach.stat().st_mtime_ns
    assert remembered[str((user_dir / "corrupt.jpg").resolve())]["problem"] is None

    (user_dir / "corrupt.jpg").unlink()  # a file that is gone is forgotten
    library.scan()
    assert str((user_dir / "corrupt.jpg").resolve()) not in json.loads(cache_file.read_text())["files"]


def test_an_unreadable_cache_is_ignored(user_dir):
    (user_dir / "empty.mp4").write_bytes(b"")
    checks.cache_path().parent.mkdir(parents=True, exist_ok=True)
    checks.cache_path().write_text("{not json")
    assert by_id(library.scan().broken)["empty"].broken == "empty file"
    assert json.loads(checks.cache_path().read_text())["version"] == checks.CACHE_VERSION


def test_backgrounds_command_shows_broken_files(run_cli, user_dir):
    fill(user_dir)
    result = run_cli("backgrounds")
    assert result.rc == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert "broken: empty file" in lines["empty"] and "broken:" in lines["corrupt"]
    assert "broken" not in lines["beach"] and "broken" not in lines["glow"]
    assert "skipped:" not in result.stdout  # each broken file is said once, in its place
    listed = json.loads(run_cli("backgrounds", "--json").stdout)
    assert {"beach", "loop", "glow"} <= {b["id"] for b in listed["backgrounds"]}
    assert not {"corrupt", "notes", "empty", "typo"} & {b["id"] for b in listed["backgrounds"]}
    reasons = {b["id"]: b["reason"] for b in listed["broken"]}
    assert reasons["empty"] == "empty file" and "not a readable image" in reasons["notes"]


def test_json_cut_short_by_head_ends_quietly(user_dir):
    """Enough backgrounds that the JSON overflows the pipe: `head` leaves before it is written."""
    first = media.write_image(user_dir / "p0000.png", media.gradient((8, 8)))
    for n in range(1, 1200):
        shutil.copyfile(first, user_dir / f"p{n:04d}.png")
    env = {**os.environ, "PYTHONPATH": str(media.REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = f"'{sys.executable}' -m app backgrounds --json | head -1; exit ${{PIPESTATUS[0]}}"
    proc = subprocess.run(["bash", "-c", command], cwd=str(media.REPO), capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.stdout == "{\n"
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
