"""`backdrop backgrounds`: what `--background` accepts: the built-in kinds, the backgrounds
that ship with Backdrop and the ones in the user's folder."""

from __future__ import annotations

import argparse
import json

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
    if args.json:
        print(json.dumps({
            "user_dir": str(found.user_dir),
            "backgrounds": [{"id": e.id, "name": e.name, "kind": e.kind, "origin": e.origin, "file": str(e.path),
                             "thumbnail": str(e.thumbnail) if e.thumbnail else None} for e in found.entries],
            "problems": found.problems,
        }, indent=2))
        return 0
    print("Built in:")
    for spec, what in BUILT_IN:
        print(f"  {spec:18s} {what}")
    for origin, title in (("shipped", "Shipped with Backdrop"), ("user", f"Yours ({found.user_dir})")):
        entries = [e for e in found.entries if e.origin == origin]
        print(f"{title}:")
        for e in entries:
            print(f"  {e.id:18s} {e.kind:6s} {e.name}")
        if not entries:
            print("  none yet: put photos, videos, .frag scenes or .json manifests there"
                  if origin == "user" else "  none")
    for problem in found.problems:
        print(f"  skipped: {problem}")
    print("Use one with: backdrop process INPUT OUTPUT --background NAME")
    return 0
