"""`backdrop train DATA... --name NAME`: a specialist object model from your own annotated
photos, fine-tuned from U²-Netp, installed beside the shipped models (needs backdrop[train])."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from app.commands.common import add_number
from app.commands.signals import Stopped, signum_of
from app.engine.core.assets import user_data_dir
from app.engine.core.errors import InputError, SettingsError

DESCRIPTION = textwrap.dedent("""\
    Fine-tune an object model on your own annotated photos (rings, bottles, your products) and
    install it, so that `backdrop remove --model NAME` and `backdrop serve` (model=NAME) use it.

    1. Annotate a few dozen to a few hundred photos: in LabelMe (polygons, rectangles, circles,
       masks; label holes `hole` or `background`, so that a ring's hole is cut out) or in CVAT
       (export "CVAT for images 1.1" or "COCO 1.0"), or paint masks yourself (DATA/images/ and
       DATA/masks/ with the same stems; white is the object).
    2. backdrop train DATA --name rings   (DATA: the LabelMe folder, the COCO .json, the CVAT
       .xml or the mask folder; several combine). Photos of one product in one subfolder stay
       together on one side of the train / validation / test split.
    3. Read the model card the run writes (base model against yours on the test photos, with
       the curves and a before/after page), then use it:
       backdrop remove photos/ -o out --model rings -b white
    A specialist sits beside the base model: it forgets much of the general skill (--general
    DIR measures how much), so keep using the default for other products.""")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="fine-tune an object model on your own annotated photos",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="+", type=Path, metavar="DATA",
                   help="a mask folder (images/ + masks/), a LabelMe folder, a COCO instances .json or a CVAT 1.1 .xml")
    p.add_argument("--name", required=True, help="the new model's name (lower-case letters, digits, - and _)")
    p.add_argument("--base", default="u2netp", help="the model to start from: u2netp (shipped) or u2net (once "
                   "fetched) (default %(default)s)")
    add_number(p, "--epochs", kind=int, low=1, high=1000, default=6,
               help="at most this many epochs of --epoch-samples augmented samples")
    add_number(p, "--epoch-samples", kind=int, low=8, high=100000, default=100,
               help="augmented samples per epoch")
    add_number(p, "--size", kind=int, low=64, high=1024, default=320,
               help="the model's input side in pixels, a multiple of 32: larger keeps finer detail and costs more")
    add_number(p, "--batch", kind=int, low=1, high=64, default=4, help="samples per step")
    add_number(p, "--patience", kind=int, low=1, high=1000, default=3,
               help="stop after this many epochs without a better validation IoU")
    add_number(p, "--time-limit", low=1.0, high=7 * 24 * 3600.0, default=None, metavar="SECONDS",
               help="stop training by then, keeping the best weights so far (the whole command's training time)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where to train: auto takes CUDA when present, else all CPU cores (default %(default)s)")
    add_number(p, "--folds", kind=int, low=2, high=20, default=None, metavar="K",
               help="for small sets: K-fold cross-validation (figures as mean and spread), then the model to "
                    "install trained on all the photos")
    add_number(p, "--seed", kind=int, low=0, high=999999, default=0, help="the split's and the samples' seed")
    p.add_argument("--backgrounds", type=Path, metavar="DIR",
                   help="photos to paste the annotated objects onto (copy-paste), so few annotations go further")
    p.add_argument("--general", type=Path, metavar="DIR",
                   help="annotated photos of other objects: scored before and after, to say how much general "
                        "skill the new model lost")
    p.add_argument("--edges", choices=("fast", "matting"), default="matting",
                   help="the edges the test photos are scored with, as `remove` makes them (default %(default)s)")
    p.add_argument("--run-dir", type=Path, metavar="DIR",
                   help="where the run's checkpoints, split, model card and review page go "
                        "(default: the user's data folder, training/NAME)")
    p.add_argument("--resume", action="store_true", help="go on from the run folder's last checkpoint")
    p.add_argument("--overwrite", "-y", action="store_true", help="replace a trained model of the same name")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from app.training.procedure import TrainRequest, run_training
        from app.training.trainer import TrainConfig
    except ImportError as exc:
        raise InputError(f"backdrop train needs PyTorch and onnx ({exc.name} is missing): "
                         'pip install "backdrop[train]"') from None
    if args.size % 32:
        raise SettingsError(f"--size must be a multiple of 32, got {args.size}")
    config = TrainConfig(size=args.size, epochs=args.epochs, samples_per_epoch=args.epoch_samples, batch=args.batch,
                         patience=args.patience, seed=args.seed, device=args.device, time_limit=args.time_limit)
    run_dir = args.run_dir or user_data_dir() / "training" / args.name
    request = TrainRequest(list(args.data), args.name, run_dir, args.base, config, args.folds, args.resume,
                           args.backgrounds, args.general, args.edges, args.overwrite)
    status = _Status(quiet=args.quiet)
    try:
        result = run_training(request, status.line, status.warn)
    except KeyboardInterrupt as exc:
        status.close()
        raise Stopped(signum_of(exc), f"the last checkpoint is kept in {run_dir} (--resume goes on from it)") from None
    status.close()
    figures = result.report
    from app.training.card import figure

    print(f"{args.name}: test IoU {figure(figures.base_scores, 'iou')} -> {figure(figures.new_scores, 'iou')}, "
          f"boundary F {figure(figures.base_scores, 'boundary_f')} -> {figure(figures.new_scores, 'boundary_f')}, "
          f"MAD {figure(figures.base_scores, 'mad')} -> {figure(figures.new_scores, 'mad')}")
    print(f"model card: {result.card}")
    if result.model is not None:
        print(f"installed: {result.model.with_suffix('.onnx')} (backdrop remove ... --model {args.name})")
    return 0


class _Status:
    """Progress on one redrawn line on a terminal; plain lines elsewhere (only the milestones)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.tty, self.open = quiet, sys.stderr.isatty(), False

    def line(self, text: str) -> None:
        if self.quiet:
            return
        if text.startswith("epoch "):
            if self.tty:
                sys.stderr.write("\r" + text + "\x1b[K")
                sys.stderr.flush()
                self.open = True
            return
        self.close()
        print(text, file=sys.stderr)

    def warn(self, text: str) -> None:
        self.close()
        print(f"backdrop: {text}", file=sys.stderr)

    def close(self) -> None:
        if self.open:
            sys.stderr.write("\n")
            self.open = False
