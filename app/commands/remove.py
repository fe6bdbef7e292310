"""`backdrop remove IMAGE_OR_FOLDER... -o OUTDIR`: cut the person or the object out of each
photo, lay it out for a catalogue, and write a review page of the batch."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.commands.common import add_matte_options, add_number, matte_settings, size_arg
from app.commands.signals import Stopped, signum_of
from app.engine.backgrounds.base import TransparentBackground
from app.engine.backgrounds.spec import parse_still_background
from app.engine.core.errors import BackdropError, InputError, SettingsError
from app.engine.files.batch import (
    FORMATS,
    check_outdir,
    check_report_target,
    collect_inputs,
    plan_targets,
    remove_empty_folders,
    run_jobs,
    write_report,
)
from app.engine.files.cluster import run_jobs_on_ray  # Ray itself is imported only when used
from app.engine.files.cutout import EDGES, SUBJECTS, RemoveJob, RemoveResult, plain_colour
from app.engine.files.layout import ALIGNS, DEFAULT_JPEG_QUALITY, Layout
from app.engine.files.review import ReviewEntry, prepare_review, write_review
from app.engine.matting.segmenter import Segmenter
from app.progress import ProgressBar

MAX_JOBS = 64


def add_parser(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("remove", help="remove the background from photos")
    r.add_argument("inputs", nargs="+", type=Path, metavar="IMAGE_OR_FOLDER")
    r.add_argument("-o", "--outdir", type=Path, required=True, help="folder for the results (created if missing)")
    r.add_argument("--background", "-b", default="transparent",
                   help="as for `process`: transparent, blur[:STRENGTH], a colour (white, #RRGGBB), an installed "
                        "background's name (see `backdrop backgrounds`), or a photo, video (its first frame) "
                        "or .frag path (default %(default)s)")
    r.add_argument("--format", choices=FORMATS, default="png")
    r.add_argument("--report", type=Path,
                   help="write a CSV row per image with its confidence and review flag (kept if it exists, "
                        "unless --overwrite)")
    r.add_argument("--subject", choices=SUBJECTS, default="auto",
                   help="what to cut out: a person, an object (a product), or auto: decided per photo from the "
                        "person model's own confidence (the report says which; default %(default)s)")
    r.add_argument("--edges", choices=EDGES, default="matting",
                   help="fast: the model's edge, refined; matting: the uncertain edge band solved by alpha "
                        "matting and the edge colours re-estimated, so no fringe of the old background "
                        "remains (slower; default %(default)s)")
    layout = r.add_argument_group("catalogue layout (with a transparent or colour background)")
    add_number(layout, "--canvas", kind=size_arg, low=16, high=20000, default=None, metavar="WxH",
               help="the result's size; the subject is scaled to fit inside it less the margin")
    add_number(layout, "--margin", low=0, high=45, default=0.0, metavar="PCT",
               help="room around the subject, percent of the canvas's shorter side")
    layout.add_argument("--align", choices=ALIGNS, default="center", help="where the subject sits (default center)")
    layout.add_argument("--trim", action="store_true", help="crop to the subject (plus the margin)")
    layout.add_argument("--shadow", action="store_true", help="a soft contact shadow under the subject")
    add_number(r, "--jpeg-quality", kind=int, low=1, high=100, default=DEFAULT_JPEG_QUALITY,
               help="quality of .jpg and .webp results")
    r.add_argument("--review", type=Path, metavar="DIR",
                   help="write a review page (DIR/index.html, opens in any browser): each photo, its cut-out on a "
                        "checkerboard and on white, its confidence; flagged ones first")
    add_number(r, "--jobs", "-j", kind=int, low=1, high=MAX_JOBS, default=min(os.cpu_count() or 1, MAX_JOBS),
               help="processes to use; by default one per core")
    r.add_argument("--ray", nargs="?", const="auto", metavar="ADDRESS",
                   help="run the batch on a Ray cluster (needs backdrop[cluster]): the one started on this machine "
                        "with `ray start --head` (no ADDRESS; put --ray after the inputs or write --ray=ADDRESS), a "
                        "head's HOST:PORT, or local (a new one in this process); one worker per CPU of the "
                        "cluster, so --jobs is not used")
    r.add_argument("--overwrite", "-y", action="store_true", help="replace existing results and report")
    r.add_argument("--quiet", "-q", action="store_true")
    add_matte_options(r)
    r.set_defaults(run=run)


def _check_background(spec: str, fmt: str, layout: Layout) -> None:
    """Open the background once here, so a bad SPEC or file fails now rather than per image."""
    background = parse_still_background(spec)
    background.close()
    if isinstance(background, TransparentBackground) and fmt == "jpg":
        raise SettingsError("--format jpg cannot hold transparency; pass --background white (or a colour)")
    if not layout.changes_nothing and plain_colour(background) is False:
        raise SettingsError("--canvas, --trim and --shadow lay the subject out on a transparent or colour "
                            f"background, not on {spec!r}")


def _check_model(model: str | None) -> None:
    """Open a named model once here, so that a bad one is one error, not one per photo."""
    if model is not None:
        Segmenter(model, video=False).close()


def run(args: argparse.Namespace) -> int:
    """Cut out every photo. A stop signal ends the pool: finished photos stay, the one
    being written does not, and the report still lists what was done. A folder this created
    is removed again if nothing was written into it."""
    spec = args.background.strip()
    layout = Layout(args.canvas, args.margin, args.align, args.trim, args.shadow)
    _check_background(spec, args.format, layout)
    settings = matte_settings(args)
    images, errors, skipped = collect_inputs(args.inputs)
    for line in skipped:
        print(f"backdrop: not read: {line}", file=sys.stderr)
    for line in errors:
        print(f"backdrop: error: {line}", file=sys.stderr)
    if not images:
        raise InputError("no images to process among the inputs")
    if args.report is not None:
        check_report_target(args.report, images, args.overwrite)
    _check_model(args.model)
    created = check_outdir(args.outdir)
    if args.review is not None:
        prepare_review(args.review)
    jobs = [RemoveJob(src, dst, spec, args.model, args.overwrite, settings, args.subject, args.edges, layout,
                      args.jpeg_quality, args.review)
            for src, dst in plan_targets(images, args.outdir, args.format)]
    bar = ProgressBar(len(jobs), "removing")
    bar.enabled = bar.enabled and not args.quiet
    received: list[RemoveResult] = []  # as they finish

    def on_result(result: RemoveResult) -> None:
        received.append(result)
        if result.status == "failed":
            print(("\r" if bar.enabled else "") + f"backdrop: error: {result.note}", file=sys.stderr)
        bar.update(len(received))

    try:
        results = (run_jobs_on_ray(jobs, args.ray, on_result) if args.ray is not None
                   else run_jobs(jobs, args.jobs, on_result))  # (in input order)
    except BackdropError:  # no cluster, say: nothing was written, the folders made for it go
        remove_empty_folders(created)
        raise
    except KeyboardInterrupt as exc:
        _finish(args, received, created)
        raise Stopped(signum_of(exc), "finished photos kept, unfinished ones removed"
                      + (f"; report {args.report} lists {len(received)} of {len(jobs)}" if args.report else "")) from None
    finally:
        bar.close()
    _finish(args, results, created)
    failed = sum(r.status == "failed" for r in results) + len(errors)
    flagged = [r for r in results if r.status == "flagged"]
    if not args.quiet:
        print(f"{_done(results) - len(flagged)} done, {len(flagged)} flagged for review, {failed} failed",
              file=sys.stderr)
        for r in flagged:
            print(f"  review {r.source}: {r.note}", file=sys.stderr)
    return 1 if failed else 0


def _done(results: list[RemoveResult]) -> int:
    return sum(r.status in ("ok", "flagged") for r in results)


def _finish(args: argparse.Namespace, results: list[RemoveResult], created: list[Path]) -> None:
    """Write the report of `results` and remove the folders made for nothing."""
    remove_empty_folders(created)
    if args.report:
        write_report(args.report, results, args.overwrite)
    if args.review is not None:
        page = write_review(args.review, [ReviewEntry(Path(r.source), Path(r.output) if r.output else None, r.status,
                                                      r.confidence, r.note, r.subject, r.thumbs) for r in results])
        if not args.quiet:
            print(f"backdrop: review page {page}", file=sys.stderr)
