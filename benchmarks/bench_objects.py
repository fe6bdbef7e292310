"""Backdrop's object cut-outs beside rembg's, in one run, on a folder of object photos.

    .venv/bin/python benchmarks/bench_objects.py ../shared/eval/objects
        [--models u2netp,u2net] [--paths fast,matting] [--rembg-python /tmp/rembg-venv/bin/python]
        [--out DIR] [--threads 2]

DATA holds images/ and masks/ (same stems, 255 = object). For each model, each tool cuts out
every photo of the folder as a batch, one after the other, in its own process with the same
number of ONNX Runtime threads (--threads, default the cores this process may use):

  rembg:   rembg 2.0.86 in its own venv (never the project's: `python3 -m venv /tmp/rembg-venv &&
           /tmp/rembg-venv/bin/pip install "rembg[cpu]==2.0.86"`), reading its models from
           ~/.u2net (copy Backdrop's u2netp.onnx / u2net.onnx there): PIL open, `remove(image,
           session=new_session(model))` (its defaults: no alpha matting), PNG save;
  backdrop fast / matting: load_image_rgb, ObjectMatter(model).soft, refine(..., mode), the
           RGBA cut-out (foreground colours, alpha) written by cv2 as PNG;
  backdrop fast-1view: the same as fast with ObjectMatter(mirror="never") (one model pass);
  backdrop cli-fast / cli-matting: the real command, `backdrop remove IMAGES... -o OUT --subject
           object --edges fast|matting --model MODEL` with its default --jobs (one process per
           core, each with its share of the threads), as a user runs a batch. Its seconds per
           photo: (the batch's wall time - a one-photo batch's wall time) / (photos - 1), i.e.
           the start-up (imports, spawning workers, loading models: printed) left out, as it is
           for the others.

Reported per tool: seconds per photo (the whole batch's wall time over the photos, the
model loaded once before the clock starts), CPU seconds per photo (the process's, all its
threads: steadier than wall time on a machine shared with other work) and IoU / boundary F / MAD of the written PNGs'
alpha against the masks (eval_matte.py's metrics).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.eval_matte import boundary_f, iou, mad, mask_for  # noqa: E402

RUN_REMBG = r"""
import json, sys, time
from pathlib import Path
from PIL import Image
from rembg import new_session, remove
model, out, files = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
session = new_session(model)
remove(Image.open(files[0]), session=session)  # warm-up, before the clock
t0, c0 = time.perf_counter(), time.process_time()
for f in files:
    remove(Image.open(f), session=session).save(out / (Path(f).stem + ".png"))
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}))
"""


def run_ours(model: str, path: str, out: Path, files: list[str]) -> dict:
    """One batch of Backdrop's object path (in this process; called as a worker)."""
    from app.engine.imaging.images import load_image_rgb
    from app.engine.matting.stills.fine_edges import refine
    from app.engine.matting.stills.objects import ObjectMatter

    mode = "fast" if path.startswith("fast") else "matting"
    matter = ObjectMatter(model, mirror="never" if path == "fast-1view" else "auto")
    warm = load_image_rgb(Path(files[0]))
    refine(warm, matter.soft(warm), mode)  # warm-up (and numba's JIT), before the clock
    passes0 = matter.passes
    t0, c0 = time.perf_counter(), time.process_time()
    for f in files:
        image = load_image_rgb(Path(f))
        alpha, fg = refine(image, matter.soft(image), mode)
        rgba = cv2.cvtColor(np.dstack([fg, alpha]), cv2.COLOR_RGBA2BGRA)
        cv2.imwrite(str(out / (Path(f).stem + ".png")), rgba)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    matter.close()
    return {"seconds": seconds, "cpu": cpu, "passes": (matter.passes - passes0) / len(files)}


def run_cli(model: str, path: str, out: Path, files: list[str]) -> dict:
    """The `backdrop remove` command on all `files`, and on the first alone (its start-up)."""
    command = [str(Path(sys.executable).with_name("backdrop")), "remove", "-o", str(out), "--subject", "object",
               "--edges", path.removeprefix("cli-"), "--model", model, "--overwrite", "--quiet"]

    def timed(photos: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(command + photos, check=True, capture_output=True)
        return time.perf_counter() - t0

    one = timed(files[:1])
    whole = timed(files)
    return {"seconds": (whole - one) * len(files) / (len(files) - 1), "startup": one}


def score(out: Path, masks: Path, stems: list[str]) -> tuple[float, float, float]:
    rows = []
    for stem in stems:
        rgba = cv2.imread(str(out / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
        alpha = rgba[..., 3]
        gt = mask_for(masks, stem)
        rows.append((iou(alpha, gt), boundary_f(alpha, gt), mad(alpha, gt)))
    return tuple(float(v) for v in np.mean(rows, axis=0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--models", default="u2netp,u2net")
    parser.add_argument("--paths", default="fast,matting,fast-1view")
    parser.add_argument("--rembg-python", default="/tmp/rembg-venv/bin/python")
    parser.add_argument("--out", type=Path, help="keep the cut-outs here (default: a temporary folder)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--worker", nargs=3, metavar=("MODEL", "PATH", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        files = [str(args.data), *args.files]  # the worker's first photo lands in `data`
        print(json.dumps(run_ours(args.worker[0], args.worker[1], Path(args.worker[2]), files)))
        return 0
    files = sorted(str(p) for p in (args.data / "images").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    stems = [Path(f).stem for f in files]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), BACKDROP_MODEL_THREADS=str(args.threads))
    root = args.out or Path(tempfile.mkdtemp(prefix="bench-objects-"))
    print(f"{len(files)} photos, {args.threads} threads; cut-outs under {root}")
    print(f"{'model':7s} {'tool':22s} {'s/photo':>8s} {'cpu s':>6s} {'IoU':>6s} {'bound. F':>8s} {'MAD':>6s}")
    for model in args.models.split(","):
        tools = [("rembg 2.0.86", lambda out: [args.rembg_python, "-c", RUN_REMBG, model, str(out)])]
        tools += [(f"backdrop {p}", lambda out, p=p: [sys.executable, __file__, "--worker", model, p, str(out)])
                  for p in args.paths.split(",")]
        for name, command in tools:
            out = root / model / name.replace(" ", "-")
            out.mkdir(parents=True, exist_ok=True)
            if name.startswith("backdrop cli-"):
                try:
                    result = run_cli(model, name.split()[-1], out, files)
                except subprocess.CalledProcessError as exc:
                    print(f"{model:7s} {name:22s} failed: {exc.stderr.decode().strip().splitlines()[-1:]}")
                    continue
            else:
                proc = subprocess.run(command(out) + files, capture_output=True, text=True, env=env)
                if proc.returncode != 0:
                    print(f"{model:7s} {name:22s} failed: {proc.stderr.strip().splitlines()[-1:]}")
                    continue
                result = json.loads(proc.stdout.strip().splitlines()[-1])
            s_iou, s_f, s_mad = score(out, args.data / "masks", stems)
            passes = f"  ({result['passes']:.2f} model passes a photo)" if "passes" in result else \
                f"  (start-up {result['startup']:.1f} s)" if "startup" in result else ""
            cpu = result.get("cpu", float("nan")) / len(files)
            print(f"{model:7s} {name:22s} {result['seconds'] / len(files):8.3f} {cpu:6.3f} {s_iou:6.3f} {s_f:8.3f} "
                  f"{s_mad:6.1f}{passes}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
