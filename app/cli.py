"""The `backdrop` command line over the engine: one module per subcommand in app/commands."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import logging
import os
import re
import sys
from pathlib import Path

from app.commands.signals import exit_status, raising_on_stop_signals, signum_of, stop_line
from app.engine.core.errors import BackdropError, SettingsError
from app.engine.core.memory import keep_freed_buffers
from app.engine.outputs.atomic import discard_unfinished

EXIT_ERROR = 1
EXIT_USAGE = 2
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def version() -> str:
    """The installed package's version, else the one pyproject.toml declares, else "unknown"."""
    try:
        return importlib.metadata.version("backdrop")
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        found = re.search(r'^version\s*=\s*"([^"]+)"', PYPROJECT.read_text(), re.MULTILINE)
    except OSError:
        found = None
    return found.group(1) if found else "unknown"


def build_parser() -> argparse.ArgumentParser:
    from app.commands import COMMANDS  # each module is heavy: imported here, not for the panel

    parser = argparse.ArgumentParser(prog="backdrop", description="Replace the background behind a person. "
                                     "With no arguments: the control panel (needs a display).")
    parser.add_argument("--version", action="version", version=f"backdrop {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"app.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a BackdropError becomes one line on stderr and a non-zero exit
    (2 for a bad setting or option value). SIGINT, SIGTERM and SIGHUP stop it: unfinished
    outputs are removed, one line says so, and the status is 128 + the signal (130, 143, 129)."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's start-up chatter quiet
    keep_freed_buffers()
    try:
        with raising_on_stop_signals():
            try:
                if not (sys.argv[1:] if argv is None else argv):
                    from app.ui.app import run_panel  # the panel's module: only when the panel opens

                    return run_panel()
                args = build_parser().parse_args(argv)
                # the engine's warnings (an odd size padded, a model fallen back) as our own lines
                logging.basicConfig(level=logging.WARNING, format="backdrop: %(message)s", stream=sys.stderr)
                return args.run(args)
            except KeyboardInterrupt:
                discard_unfinished()
                raise
    except BackdropError as exc:
        print(f"backdrop: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_ERROR
    except KeyboardInterrupt as exc:
        print(stop_line(exc), file=sys.stderr)
        return exit_status(signum_of(exc))
