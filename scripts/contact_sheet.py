"""A contact sheet: every installed background composited behind a real person (the demo
portrait), with a close-up of the edge at full resolution, to look at edges, light wrap,
halos and seams.

    .venv/bin/python scripts/contact_sheet.py [--out out/contact_sheet.png] [--compositor gl|cpu]

Each tile is the composite at 960x540 shown at half size, beside two close-ups of the edge
(head, shoulder) at native size. The matte comes from the real segmenter and refiner.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.engine.backgrounds import library  # noqa: E402
from app.engine.backgrounds.spec import parse_background  # noqa: E402
from app.engine.compositing.choose import make_compositor  # noqa: E402
from app.engine.compositing.effects import CompositeSettings  # noqa: E402
from app.engine.matting.presets import MatteSettings  # noqa: E402
from app.engine.matting.refiner import MatteRefiner  # noqa: E402
from app.engine.matting.segmenter import Segmenter  # noqa: E402
from app.engine.sources.demo import demo_canvas, demo_frame  # noqa: E402

SIZE = (960, 540)
CROP = 270  # side of each close-up, native pixels
LABEL_H = 26


def person(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    frame = demo_frame(demo_canvas(size), size, 0.0).copy()
    segmenter = Segmenter("general", video=False)
    try:
        alpha = MatteRefiner(MatteSettings()).refine(segmenter.confidence(frame), frame)
    finally:
        segmenter.close()
    return frame, alpha


def edge_crops(alpha: np.ndarray) -> list[tuple[int, int]]:
    """Top-left corners of two close-ups centred on the matte's edge: the left of the head
    and the right shoulder."""
    h, w = alpha.shape
    corners = []
    for row, side in ((int(h * 0.25), "left"), (int(h * 0.8), "right")):
        cols = np.flatnonzero(alpha[row] > 128)
        x = (cols[0] if side == "left" else cols[-1]) if cols.size else w // 2
        corners.append((int(np.clip(x - CROP // 2, 0, w - CROP)), int(np.clip(row - CROP // 2, 0, h - CROP))))
    return corners


def tile(image: np.ndarray, label: str, crops: list[tuple[int, int]]) -> np.ndarray:
    half = cv2.resize(image, (SIZE[0] // 2, SIZE[1] // 2), interpolation=cv2.INTER_AREA)
    gap = np.full((half.shape[0], 4, 3), 255, np.uint8)
    parts = [half]
    for x, y in crops:
        parts += [gap, image[y:y + CROP, x:x + CROP]]
    body = np.hstack(parts)
    bar = np.full((LABEL_H, body.shape[1], 3), 24, np.uint8)
    cv2.putText(bar, label, (8, LABEL_H - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (235, 235, 235), 1, cv2.LINE_AA)
    return np.vstack([bar, body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "contact_sheet.png")
    parser.add_argument("--compositor", choices=("gl", "cpu"), default="gl")
    parser.add_argument("--seconds", type=float, default=1.0, help="time for moving backgrounds")
    args = parser.parse_args()
    frame, alpha = person(SIZE)
    compositor = make_compositor(args.compositor, CompositeSettings.natural())
    crops = edge_crops(alpha)
    tiles = []
    specs = [(e.id, f"{e.id} ({e.kind}, {e.origin})") for e in library.scan().entries]
    specs += [("blur", "blur (the room)"), ("#2a6f4e", "colour #2a6f4e")]
    for spec, label in specs:
        background = parse_background(spec)
        try:
            image = compositor.composite(frame, alpha, background, args.seconds)
        finally:
            background.close()
        tiles.append(tile(image, f"{label}  [{compositor.name}, natural look]", crops))
    compositor.close()
    sheet = np.vstack(tiles)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({len(tiles)} backgrounds, {sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
