"""`backdrop remove IMAGE_OR_FOLDER... -o OUTDIR`: cut the person out of each photo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.commands.common import add_matte_options, matte_settings
from app.engine.backgrounds.base import parse_colour
from app.engine.backgrounds.spec import parse_background
from app.engine.core.errors import InputError, OutputError, SettingsError
from app.engine.files.batch import (
    FORMATS,
    RemoveJob,
    RemoveResult,
    collect_inputs,
    plan_targets,
    run_jobs,
    write_report,
)
from app.progress import ProgressBar


def add_parser(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("remove", help="remove the background from photos")
    r.add_argument("inputs", nargs="+", type=Path, metavar="IMAGE_OR_FOLDER")
    r.add_argument("-o", "--outdir", type=Path, required=True, help="folder for the results (created if missing)")
    r.add_argument("--background", "-b", default="transparent", help="transparent, white, #RRGGBB, or a photo path")
    r.add_argument("--format", choices=FORMATS, default="png")
    r.add_argument("--report", type=Path, help="write a CSV row per image with its confidence and review flag")
    r.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="processes to use (default: all cores)")
    r.add_argument("--overwrite", "-y", action="store_true", help="replace existing results")
    r.add_argument("--quiet", "-q", action="store_true")
    add_matte_options(r)
    r.set_defaults(run=run)


def _check_background(spec: str, fmt: str) -> None:
    if spec == "transparent":
        if fmt == "jpg":
            raise SettingsError("--format jpg cannot hold transparency; pass --background white (or a colour)")
    elif parse_colour(spec) is None:
        parse_background(spec).close()  # a photo: fail now, once, rather than per image


def run(args: argparse.Namespace) -> int:
    spec = args.background.strip()
    _check_background(spec, args.format)
    settings = matte_settings(args)
    images, errors = collect_inputs(args.inputs)
    for line in errors:
        print(f"backdrop: error: {line}", file=sys.stderr)
    if not images:
        raise InputError("no images to process among the inputs")
    try:
        args.outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{args.outdir}: cannot be created ({exc.strerror})") from None
    jobs = [RemoveJob(src, dst, spec, args.model, args.overwrite, settings)
            for src, dst in plan_targets(images, args.outdir, args.format)]
    bar = ProgressBar(len(jobs), "removing")
    bar.enabled = bar.enabled and not args.quiet
    done = 0

    def on_result(result: RemoveResult) -> None:
        nonlocal done
        done += 1
        if result.status == "failed":
            print(("\r" if bar.enabled else "") + f"backdrop: error: {result.note}", file=sys.stderr)
        bar.update(done)

    try:
        results = run_jobs(jobs, max(1, args.jobs), on_result)
    finally:
        bar.close()
    if args.report:
        write_report(args.report, results)
    failed = sum(r.status == "failed" for r in results) + len(errors)
    flagged = [r for r in results if r.status == "flagged"]
    if not args.quiet:
        ok = sum(r.status == "ok" for r in results)
        print(f"{ok} done, {len(flagged)} flagged for review, {failed} failed", file=sys.stderr)
        for r in flagged:
            print(f"  review {r.source}: {r.note}", file=sys.stderr)
    return 1 if failed else 0
