"""What `backdrop train` buys on a small product set: K-fold cross-validation of the base model
against the fine-tuned one, on the test photos of each fold, with `remove`'s own edges.

    .venv/bin/python benchmarks/bench_train.py ../shared/eval/rings [--folds 4] [--epochs 4]
        [--epoch-samples 100] [--size 320] [--edges matting] [--device auto] [--out DIR]

DATA is anything `backdrop train` reads (here images/ + masks/). Each fold trains from the
shipped U²-Netp with the command's own procedure (`app.training.procedure.run_training`, the
model is not installed), exports to ONNX, fits the edge level on the fold's validation
photos, and cuts out the fold's test photos as `remove --subject object --model ...` does.

Printed: per fold and as mean ± spread, IoU / boundary F / MAD of the base and the trained
model; training seconds per 100 samples (validation included), wall seconds per fold (export
and scoring included) and the process's peak memory. The run folder (model cards, curves,
before/after page) is kept in --out.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GLOG_minloglevel", "2")

from app.training.card import figure, summary  # noqa: E402
from app.training.evaluate import means  # noqa: E402
from app.training.procedure import TrainRequest, run_training  # noqa: E402
from app.training.trainer import TrainConfig  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--epoch-samples", type=int, default=100)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--edges", default="matting")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-train-"))
    config = TrainConfig(epochs=args.epochs, samples_per_epoch=args.epoch_samples, size=args.size,
                         patience=args.patience, device=args.device, seed=args.seed)
    request = TrainRequest([args.data], "bench", out, config=config, folds=args.folds, edges=args.edges,
                           install=False)
    started = time.monotonic()
    result = run_training(request, lambda line: None if line.startswith("epoch ") else print(line, flush=True),
                          lambda line: print(f"  {line}", flush=True))
    wall = time.monotonic() - started
    report = result.report
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\n{args.data}: {report.pairs} photos, {args.folds} folds, {args.epochs} x {args.epoch_samples} samples "
          f"at {args.size} px, edges {args.edges}, on {report.device} ({os.cpu_count()} cores)\n")
    print(f"{'fold':6s} {'test':>4s} | {'base IoU':>8s} {'BF':>6s} {'MAD':>6s} | {'trained IoU':>11s} {'BF':>6s} "
          f"{'MAD':>6s} | {'epochs':>6s} {'s/100 samples':>13s}")
    for i, (before, after, hist) in enumerate(zip(report.base_scores, report.new_scores, report.histories)):
        b, a = means(before), means(after)
        per_100 = hist[-1].seconds / max(1, hist[-1].samples) * 100
        print(f"{i + 1:<6d} {len(before):>4d} | {b['iou']:8.3f} {b['boundary_f']:6.3f} {b['mad']:6.1f} | "
              f"{a['iou']:11.3f} {a['boundary_f']:6.3f} {a['mad']:6.1f} | {len(hist):6d} {per_100:13.1f}")
    print(f"{'mean':11s} | {figure(report.base_scores, 'iou'):>8s} {figure(report.base_scores, 'boundary_f')} "
          f"{figure(report.base_scores, 'mad')} | {figure(report.new_scores, 'iou')} "
          f"{figure(report.new_scores, 'boundary_f')} {figure(report.new_scores, 'mad')}")
    targets = (summary(report.new_scores, "iou")[0] >= 0.84, summary(report.new_scores, "boundary_f")[0] >= 0.88,
               summary(report.new_scores, "mad")[0] <= 25)
    print(f"\nwall {wall / 60:.1f} min ({wall / 60 / args.folds:.1f} min a fold, export and scoring included); "
          f"peak memory {peak_gib:.2f} GiB; targets (IoU >= 0.84, BF >= 0.88, MAD <= 25): "
          f"{'met' if all(targets) else 'not met: ' + str(targets)}")
    print(f"run folder: {out} (MODEL_CARD.md, review/index.html)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
