"""The run folder's report: a model card (Markdown) with the before/after table, the loss and
validation IoU curves as a PNG, and a before/after review page of the test photos (HTML that
opens from disk: the original, the base model's cut-out and the new one's, with their scores)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from app.engine.files.review import write_thumbnails
from app.training.evaluate import Score
from app.training.trainer import EpochRecord, iou_text

CURVES = "curves.png"
CARD = "MODEL_CARD.md"
REVIEW = "review/index.html"


@dataclass
class RunReport:
    """What the card says: one run (or one per fold), their test scores, and the general set."""

    name: str
    base: str
    pairs: int
    problems: list[str]
    histories: list[list[EpochRecord]]
    base_scores: list[list[Score]]  # per run (fold), the base model's test scores
    new_scores: list[list[Score]]
    seconds: float
    samples: int
    edges: str
    device: str
    general: tuple[dict[str, float], dict[str, float]] | None = None  # (base, new) means on --general
    notes: list[str] = field(default_factory=list)


def _mean(scores: list[Score], metric: str) -> float:
    return float(np.mean([getattr(s, metric) for s in scores])) if scores else float("nan")


def summary(per_run: list[list[Score]], metric: str) -> tuple[float, float]:
    """Mean over runs of each run's mean, and the spread (standard deviation over runs)."""
    values = [_mean(scores, metric) for scores in per_run if scores]
    return (float(np.mean(values)), float(np.std(values))) if values else (float("nan"), 0.0)


def figure(per_run: list[list[Score]], metric: str) -> str:
    mean, spread = summary(per_run, metric)
    digits = 1 if metric == "mad" else 3
    return f"{mean:.{digits}f}" + (f" ± {spread:.{digits}f}" if len(per_run) > 1 else "")


def draw_curves(histories: list[list[EpochRecord]], path: Path, size: tuple[int, int] = (720, 360)) -> None:
    """Training loss (left axis, red) and validation IoU (right axis 0..1, blue) per epoch,
    one line per run, as a PNG."""
    w, h = size
    pad = 48
    canvas = np.full((h, w, 3), 255, np.uint8)
    cv2.rectangle(canvas, (pad, pad // 2), (w - pad, h - pad), (200, 200, 200), 1)
    epochs = max((len(hist) for hist in histories), default=1)
    top_loss = max((r.loss for hist in histories for r in hist), default=1.0) or 1.0

    def xy(epoch: int, value: float, top: float) -> tuple[int, int]:
        x = pad + (w - 2 * pad) * (epoch - 1) / max(1, epochs - 1)
        y = (h - pad) - (h - 1.5 * pad) * min(1.0, max(0.0, value / top))
        return int(x), int(y)

    for hist in histories:
        for values, top, colour in (([r.loss for r in hist], top_loss, (200, 40, 40)),
                                    ([r.val_iou for r in hist], 1.0, (40, 80, 200))):
            points = [xy(i + 1, v, top) for i, v in enumerate(values) if np.isfinite(v)]
            for a, b in zip(points, points[1:]):
                cv2.line(canvas, a, b, colour, 2, cv2.LINE_AA)
            for p in points:
                cv2.circle(canvas, p, 3, colour, -1, cv2.LINE_AA)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(canvas, f"loss (0..{top_loss:.2f})", (pad, 16), font, 0.45, (200, 40, 40), 1, cv2.LINE_AA)
    cv2.putText(canvas, "validation IoU (0..1)", (w - pad - 170, 16), font, 0.45, (40, 80, 200), 1, cv2.LINE_AA)
    cv2.putText(canvas, f"epoch 1..{epochs}", (w // 2 - 40, h - 14), font, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
    ok, data = cv2.imencode(".png", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    if ok:
        path.write_bytes(data.tobytes())


def write_card(folder: Path, report: RunReport) -> Path:
    """MODEL_CARD.md in `folder` (with curves.png beside it); its path."""
    draw_curves(report.histories, folder / CURVES)
    runs = len(report.new_scores)
    how = f"{runs}-fold cross-validation (mean ± spread over folds)" if runs > 1 else "the test split"
    lines = [f"# {report.name}: a specialist object model", "",
             f"Fine-tuned from `{report.base}` on {report.pairs} annotated photos by `backdrop train` "
             f"({report.samples} augmented samples, {report.seconds / 60:.1f} min on {report.device}).", "",
             f"## Before and after, on {how}, with `remove`'s own edges (`--edges {report.edges}`)", "",
             "| model | IoU | boundary F | MAD |", "|---|---|---|---|"]
    for label, scores in ((report.base, report.base_scores), (report.name, report.new_scores)):
        lines.append(f"| {label} | {figure(scores, 'iou')} | {figure(scores, 'boundary_f')} | {figure(scores, 'mad')} |")
    if report.general is not None:
        before, after = report.general
        lines += ["", "## General skill (`--general`)", "",
                  "| model | IoU | boundary F | MAD |", "|---|---|---|---|",
                  f"| {report.base} | {before['iou']:.3f} | {before['boundary_f']:.3f} | {before['mad']:.1f} |",
                  f"| {report.name} | {after['iou']:.3f} | {after['boundary_f']:.3f} | {after['mad']:.1f} |", "",
                  f"General IoU {'lost' if after['iou'] < before['iou'] else 'gained'} "
                  f"{abs(before['iou'] - after['iou']):.3f}: use `{report.name}` for its kind of product and "
                  f"`{report.base}` for the rest."]
    lines += ["", "## Per photo (test)", "", "| photo | base IoU | new IoU | base MAD | new MAD |", "|---|---|---|---|---|"]
    for before_run, after_run in zip(report.base_scores, report.new_scores):
        for b, a in zip(before_run, after_run):
            lines.append(f"| {b.name} | {b.iou:.3f} | {a.iou:.3f} | {b.mad:.1f} | {a.mad:.1f} |")
    lines += ["", "## Training", "", f"![loss and validation IoU]({CURVES})", "",
              "| run | epochs | best epoch | best validation IoU | last loss |", "|---|---|---|---|---|"]
    for i, hist in enumerate(report.histories):
        validated = [r for r in hist if np.isfinite(r.val_iou)]  # without validation photos the last is kept
        best = max(validated, key=lambda r: (r.val_iou, -r.epoch)) if validated else hist[-1]
        label = f"fold {i + 1}" if i < runs and runs > 1 else "final" if runs > 1 else "run"
        lines.append(f"| {label} | {len(hist)} | {best.epoch} | {iou_text(best.val_iou)} | {hist[-1].loss:.3f} |")
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    if report.problems:
        lines += ["", f"## Not used ({len(report.problems)})", ""] + [f"- {p}" for p in report.problems]
    lines += ["", f"Before/after pictures of the test photos: [{REVIEW}]({REVIEW}).", "",
              f"Use it: `backdrop remove PHOTOS -o OUT --model {report.name}`; the service: `model={report.name}`."]
    path = folder / CARD
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class ReviewPhoto:
    name: str
    rgb: np.ndarray
    before: Score
    after: Score


def write_before_after(folder: Path, photos: list[ReviewPhoto], base: str, name: str) -> Path:
    """`folder`/index.html: each test photo with the base model's and the new model's cut-out
    on a checkerboard, worst improvement first."""
    rows = []
    for p in sorted(photos, key=lambda p: p.after.iou - p.before.iou):
        original = write_thumbnails(folder, f"{p.name}", p.rgb)
        before = write_thumbnails(folder, f"{p.name}-{base}", p.rgb, alpha=p.before.alpha)
        after = write_thumbnails(folder, f"{p.name}-{name}", p.rgb, alpha=p.after.alpha)
        w, h = original.size
        cells = [f'<img src="{original.original}" width="{w}" height="{h}" alt="original">']
        for thumbs, score in ((before, p.before), (after, p.after)):
            cells.append(f'<div class="check"><img src="{thumbs.cutout}" width="{w}" height="{h}" alt="cut-out"></div>'
                         f"<p>IoU {score.iou:.3f} · boundary F {score.boundary_f:.3f} · MAD {score.mad:.1f}</p>")
        rows.append(f"<tr><th>{html.escape(p.name)}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(name)}: before and after</title>
<style>body{{font:14px sans-serif;margin:16px}}td,th{{padding:6px;vertical-align:top;text-align:left}}
.check{{background:repeating-conic-gradient(#ccc 0 25%,#fff 0 50%) 0 0/16px 16px;display:inline-block}}
p{{margin:4px 0;color:#333}}</style></head><body>
<h1>{html.escape(name)} against {html.escape(base)}: the test photos</h1>
<p>Worst improvement first. Scores against the annotated mask; cut-outs made as <code>backdrop remove</code> makes them.</p>
<table><tr><th>photo</th><th>original</th><th>{html.escape(base)}</th><th>{html.escape(name)}</th></tr>
{"".join(rows)}</table></body></html>
"""
    path = folder / "index.html"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
