"""The `backdrop` command line over the engine: one module per subcommand in app/commands."""

from __future__ import annotations

import argparse
import os
import sys

from app.engine.core.errors import BackdropError, SettingsError
from app.engine.core.memory import keep_freed_buffers

EXIT_ERROR = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    from app.commands import backgrounds, devices, models, process, remove, run

    parser = argparse.ArgumentParser(prog="backdrop", description="Replace the background behind a person.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (process, remove, run, devices, backgrounds, models):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a BackdropError becomes one line on stderr and a non-zero exit."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's start-up chatter quiet
    keep_freed_buffers()
    if not (sys.argv[1:] if argv is None else argv):
        from app.ui.app import run_panel

        return run_panel()
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BackdropError as exc:
        print(f"backdrop: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_ERROR
    except KeyboardInterrupt:
        print("backdrop: interrupted; unfinished outputs removed", file=sys.stderr)
        return 130
