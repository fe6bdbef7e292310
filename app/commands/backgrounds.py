"""`backdrop backgrounds`: what `--background` accepts: the built-in kinds, the backgrounds
that ship with Backdrop and the ones in the user's folder; the user's files that cannot be
used are listed as broken, with the reason. Output cut short by a closed pipe
(`backdrop backgrounds --json | head -1`) ends quietly."""

from __future__ import annotations

import argparse
import json
import os
import sys

from app.engine.backgrounds import library
from app.engine.backgrounds.base import NAMED_COLOURS

BUILT_IN = (
    ("blur[:STRENGTH]", "the real room, blurred (radius in pixels at 1080p, default 24)"),
    ("transparent", "no background: the matte is kept as alpha"),
    ("COLOUR", f"a solid colour: {', '.join(sorted(NAMED_COLOURS))} or #RRGGBB"),
    ("PATH", "a photo, a video (loops) or a scene shader (.frag) file"),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backgrounds", help="list the backgrounds --background accepts")
    p.add_argument("--json", action="store_true", help="print the installed backgrounds as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    found = library.scan()
    try:
        if args.json:
            print_json(found)
        else:
            print_text(found)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): send what is left, and the flush at exit, nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0


def print_json(found: library.Library) -> None:
    """Usable backgrounds under "backgrounds", broken ones (with "reason") under "broken"."""
    print(json.dumps({
        "user_dir": str(found.user_dir),
        "backgrounds": [{"id": e.id, "name": e.name, "kind": e.kind, "origin": e.origin, "file": str(e.path),
                         "thumbnail": str(e.thumbnail) if e.thumbnail else None} for e in found.entries],
        "broken": [{"id": e.id, "name": e.name, "kind": e.kind, "origin": e.origin, "file": str(e.path),
                    "reason": e.broken} for e in found.broken],
        "problems": found.problems,
    }, indent=2))


def print_text(found: library.Library) -> None:
    print("Built in:")
    for spec, what in BUILT_IN:
        print(f"  {spec:18s} {what}")
    for origin, title in (("shipped", "Shipped with Backdrop"), ("user", f"Yours ({found.user_dir})")):
        entries = [e for e in found.entries if e.origin == origin]
        broken = [e for e in found.broken if e.origin == origin]
        print(f"{title}:")
        for e in entries:
            print(f"  {e.id:18s} {e.kind:6s} {e.name}")
        for e in broken:
            print(f"  {e.id:18s} {e.kind:6s} broken: {e.broken}")
        if not entries and not broken:
            print("  none yet: put photos, videos, .frag scenes or .json manifests there"
                  if origin == "user" else "  none")
    listed = {library.problem_line(e) for e in found.broken}
    for problem in found.problems:
        if problem not in listed:
            print(f"  skipped: {problem}")
    print("Use one with: backdrop process INPUT OUTPUT --background NAME")
