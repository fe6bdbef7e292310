"""Matte quality of the engine against the raw model, on a folder of evaluation data.

    .venv/bin/python benchmarks/eval_matte.py DATA [--sets portraits,asl] [--timing-frames 60]
                                               [--save-mattes DIR] [--preset P] [--smoothing S] ...

DATA is laid out like ../shared/eval (see its README for the metric definitions):
  NAME/images + NAME/masks       photos with binary person masks (same stems)
  NAME/frames + NAME/masks       one clip as numbered frames, a mask per frame
  *.mp4 *.mkv *.mov *.webm ...   clips without masks; the clips of one folder form one set
                                 (flicker is averaged over them), a lone clip is its own set

Every matte is made by the engine's own code, exactly as the app makes it:
  photos: as `backdrop remove` does: load_image_rgb, Segmenter(model, video=False), and a
          fresh MatteRefiner(settings) per photo;
  clips:  as `backdrop process` does: the app's source (open_source), one
          Segmenter.for_video(settings, size) and one MatteRefiner(settings) for the whole clip,
          frames in order;
  the model is the one the preset picks for the frame size (MatteSettings.model_for).

It is scored against, in the same run:
  raw model:  the general model's confidence, upsampled bilinearly and used as alpha (no
              stabiliser, no refinement, whole frames: no person tracking; how the reference
              figures in ../shared/eval were made);
  model only: the preset's model, raw the same way (shows what the model choice alone does).

Metrics: photos IoU, boundary F, MAD; clips with masks IoU, boundary F, dtSSD; clips without
masks flicker. Then the per-frame cost at 1280x720 (segmentation + matte) of the raw path and
of the default path, timed frame by frame in alternation, medians.

`--save-mattes DIR` writes the engine's mattes as PNG (DIR/SET/STEM.png for photos,
DIR/SET/CLIP/000000.png ... for clips), the files `backdrop remove` (alpha channel) and
`backdrop process --matte` (PNG sequence) write for the same inputs and settings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from app.engine.imaging.images import IMAGE_EXTENSIONS, load_image_rgb  # noqa: E402
from app.engine.matting.metrics import as_float, binary, boundary, boundary_f, iou, mad  # noqa: E402,F401
from app.engine.matting.presets import PRESETS, MatteSettings  # noqa: E402
from app.engine.matting.refiner import MatteRefiner  # noqa: E402
from app.engine.matting.segmenter import Segmenter  # noqa: E402
from app.engine.matting.stills.fine_edges import refine as refine_edges  # noqa: E402
from app.engine.matting.stills.objects import ObjectMatter  # noqa: E402
from app.engine.sources import open_source  # noqa: E402
from app.engine.sources.images import list_images, natural_key  # noqa: E402

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".mov", ".webm", ".m4v", ".avi"}
METHODS = ("raw model", "model only", "ours")
OBJECT_METHODS = ("raw (rembg)", "soft", "fast", "matting")
OBJECT_SETS = "objects"  # folder names scored on the object path (--object-sets)
RAW_MODEL = "general"


# -- metrics: app/engine/matting/metrics.py (definitions: ../shared/eval/README.md) ----------


class DtSSD:
    """Temporal coherence against ground truth (RVM): per frame
    100 x sqrt(sum(((alpha_t - alpha_t-1) - (gt_t - gt_t-1))^2) / N), averaged."""

    def __init__(self) -> None:
        self.prev: tuple[np.ndarray, np.ndarray] | None = None
        self.values: list[float] = []

    def update(self, alpha: np.ndarray, gt: np.ndarray) -> None:
        a, g = as_float(alpha), gt.astype(np.float32)
        if self.prev is not None:
            d = (a - self.prev[0]) - (g - self.prev[1])
            self.values.append(100.0 * float(np.sqrt(np.mean(d * d))))
        self.prev = (a, g)

    def result(self) -> float:
        return float(np.mean(self.values)) if self.values else 0.0


class Flicker:
    """Flicker without ground truth: 100 x mean |alpha_t - alpha_t-1| over the pixels that
    are static (5x5-Gaussian-blurred grey changed by less than 3/255) and lie within 10 px
    of the previous matte's edge (its boundary dilated by a 21x21 square), averaged over
    frame pairs."""

    def __init__(self) -> None:
        self.prev: tuple[np.ndarray, np.ndarray] | None = None
        self.values: list[float] = []

    def update(self, frame_rgb: np.ndarray, alpha: np.ndarray) -> None:
        grey = cv2.GaussianBlur(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY).astype(np.float32), (5, 5), 0)
        a = as_float(alpha)
        if self.prev is not None:
            prev_grey, prev_a = self.prev
            static = np.abs(grey - prev_grey) < 3.0
            edge = boundary(prev_a > 0.5).astype(np.uint8)
            near = cv2.dilate(edge, np.ones((21, 21), np.uint8)).astype(bool)
            sel = static & near
            if sel.any():
                self.values.append(100.0 * float(np.mean(np.abs(a[sel] - prev_a[sel]))))
        self.prev = (grey, a)

    def result(self) -> float:
        return float(np.mean(self.values)) if self.values else 0.0


# -- the data folder ---------------------------------------------------------------------------
@dataclass
class EvalSet:
    """One row group of the table: photos, one masked clip, or clips without masks."""

    name: str
    kind: str  # "photos", "masked clip", "clips"
    items: list[Path] = field(default_factory=list)  # images, [frames folder], or clip files
    masks: Path | None = None
    models_used: Counter = field(default_factory=Counter)  # model -> photos or frames


def find_sets(data: Path, object_sets: set[str] = frozenset()) -> list[EvalSet]:
    """The evaluation sets under `data`, in a stable order (see the module doc); photo
    folders named in `object_sets` are scored on the object path (kind "objects")."""
    sets: list[EvalSet] = []
    clips: dict[Path, list[Path]] = {}
    for folder, dirs, files in sorted(os.walk(data)):
        here = Path(folder)
        dirs.sort()
        if "masks" in dirs and "images" in dirs:
            kind = "objects" if here.name in object_sets else "photos"
            sets.append(EvalSet(here.name, kind, list_images(here / "images"), here / "masks"))
            dirs[:] = []
        elif "masks" in dirs and "frames" in dirs:
            sets.append(EvalSet(here.name, "masked clip", [here / "frames"], here / "masks"))
            dirs[:] = []
        else:
            for name in sorted(files):
                if Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                    clips.setdefault(here, []).append(here / name)
    for folder, files in sorted(clips.items()):
        if len(files) == 1:
            sets.append(EvalSet(files[0].stem, "clips", files))
        else:
            sets.append(EvalSet(folder.name, "clips", sorted(files, key=natural_key)))
    order = {"photos": 0, "objects": 0, "masked clip": 1, "clips": 2}
    return sorted(sets, key=lambda s: order[s.kind])  # stable: walk order within a kind


def mask_for(masks: Path, stem: str) -> np.ndarray:
    """The binary mask with this stem (any image extension) in `masks`."""
    for ext in sorted(IMAGE_EXTENSIONS):
        path = masks / f"{stem}{ext}"
        if path.is_file():
            grey = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_GRAYSCALE)
            if grey is not None:
                return grey > 127
    raise FileNotFoundError(f"{masks}: no mask for {stem}")


# -- running the engine ------------------------------------------------------------------------
def raw_alpha(confidence: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The raw path: confidence upsampled bilinearly to the frame, used as alpha (float)."""
    return cv2.resize(confidence, size, interpolation=cv2.INTER_LINEAR)


class Models:
    """Segmenters made on first use (one per model, mode and tracking). `models.ours(...)`
    segments as the app does; `models.plain(name)` as the raw model would, on whole frames
    (no person tracking; for photos the same segmenter)."""

    def __init__(self, video: bool, model: str | None = None) -> None:
        self.video, self.model = video, model
        self._by_key: dict[tuple[str, bool, str, tuple[int, int] | None], Segmenter] = {}

    def ours_name(self, settings: MatteSettings, size: tuple[int, int]) -> str:
        """The model the app runs (--model, else the preset's for photos or video)."""
        if self.model:
            return self.model
        return settings.model_for(size) if self.video else settings.photo_model_for(size)

    def ours(self, settings: MatteSettings, size: tuple[int, int]) -> Segmenter:
        """The segmenter the app runs under `settings` (`Segmenter.for_video` for clips)."""
        crop_model = settings.preset_spec.crop_model if self.video else "same"
        return self._get(self.ours_name(settings, size), True, crop_model, size if self.video else None)

    def plain(self, name: str) -> Segmenter:
        return self._get(name, not self.video, "same", None)

    def _get(self, name: str, track: bool, crop_model: str, size: tuple[int, int] | None) -> Segmenter:
        key = (name, track, crop_model, size)
        if key not in self._by_key:
            self._by_key[key] = Segmenter(name, video=self.video, track=track, crop_model=crop_model,
                                          frame_size=size)
        return self._by_key[key]

    def close(self) -> None:
        for seg in self._by_key.values():
            seg.close()


def three_mattes(models: Models, settings: MatteSettings, refiner: MatteRefiner,
                 image: np.ndarray, used: Counter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """raw model, model only, ours for one image (the refiner keeps its own state)."""
    size = (image.shape[1], image.shape[0])
    model = models.ours_name(settings, size)
    used[model] += 1
    conf_raw = models.plain(RAW_MODEL).confidence(image)
    conf_model = conf_raw if model == RAW_MODEL else models.plain(model).confidence(image)
    ours = models.ours(settings, size)
    conf = conf_model if ours is models.plain(model) else ours.confidence(image)
    return raw_alpha(conf_raw, size), raw_alpha(conf_model, size), refiner.refine(conf, image)


def save_png(path: Path, alpha: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), alpha, [cv2.IMWRITE_PNG_COMPRESSION, 1])


def run_photos(s: EvalSet, settings: MatteSettings, save: Path | None,
               model: str | None = None) -> dict[str, dict[str, float]]:
    models = Models(video=False, model=model)
    scores: dict[str, list[tuple[float, float, float]]] = {m: [] for m in METHODS}
    try:
        for path in s.items:
            image = load_image_rgb(path)
            gt = mask_for(s.masks, path.stem)
            mattes = three_mattes(models, settings, MatteRefiner(settings), image, s.models_used)
            for method, alpha in zip(METHODS, mattes):
                scores[method].append((iou(alpha, gt), boundary_f(alpha, gt), mad(alpha, gt)))
            if save is not None:
                save_png(save / s.name / f"{path.stem}.png", mattes[2])
    finally:
        models.close()
    return {m: dict(zip(("IoU", "boundary F", "MAD"), np.mean(v, axis=0))) for m, v in scores.items()}


def rembg_alpha(matter: ObjectMatter, image: np.ndarray) -> np.ndarray:
    """The object model raw, as rembg uses it: one view, the 320 map min-max normalised and
    resized bilinearly to the photo (float)."""
    saved = matter.mirror
    matter.mirror = "never"
    try:
        return raw_alpha(matter.saliency(image), (image.shape[1], image.shape[0]))
    finally:
        matter.mirror = saved


def object_mattes(matter: ObjectMatter, image: np.ndarray, times: dict[str, list[float]]) -> list[np.ndarray]:
    """The four object paths for one photo (OBJECT_METHODS), each timed (model passes
    included in soft; fast and matting on top of soft)."""
    t0 = time.perf_counter()
    raw = rembg_alpha(matter, image)
    t1 = time.perf_counter()
    soft = matter.soft(image)
    t2 = time.perf_counter()
    fast = refine_edges(image, soft, "fast")[0]
    t3 = time.perf_counter()
    matted = refine_edges(image, soft, "matting")[0]
    t4 = time.perf_counter()
    for method, dt in zip(OBJECT_METHODS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
        times[method].append(dt)
    return [raw, soft, fast, matted]


def run_objects(s: EvalSet, save: Path | None, model: str | None = None) -> dict[str, dict[str, float]]:
    """Scores of the object path (ObjectMatter + refine, fast and matting) and of the model
    raw as rembg uses it; `model` default u2netp."""
    matter = ObjectMatter(model or "u2netp")
    scores: dict[str, list[tuple[float, float, float]]] = {m: [] for m in OBJECT_METHODS}
    times: dict[str, list[float]] = {m: [] for m in OBJECT_METHODS}
    try:
        for path in s.items:
            image = load_image_rgb(path)
            gt = mask_for(s.masks, path.stem)
            s.models_used[matter.name] += 1
            mattes = object_mattes(matter, image, times)
            for method, alpha in zip(OBJECT_METHODS, mattes):
                scores[method].append((iou(alpha, gt), boundary_f(alpha, gt), mad(alpha, gt)))
            if save is not None:
                save_png(save / s.name / f"{path.stem}.png", mattes[3])
        passes = matter.passes - len(s.items)  # less the raw path's one pass a photo
    finally:
        matter.close()
    out = {m: dict(zip(("IoU", "boundary F", "MAD"), np.mean(v, axis=0))) for m, v in scores.items()}
    for m in OBJECT_METHODS:
        out[m]["ms/photo"] = 1000.0 * float(np.mean(times[m]))
    out["soft"]["passes/photo"] = passes / max(1, len(s.items))
    return out


def clip_frames(path: Path) -> Iterator[np.ndarray]:
    """The frames of a clip as the app's source yields them."""
    source = open_source(str(path))
    try:
        for frame in source:
            yield frame.image
    finally:
        source.close()


def run_clip(path: Path, settings: MatteSettings, masks: Path | None, save: Path | None,
             used: Counter, model: str | None = None) -> dict[str, dict[str, float]]:
    models = Models(video=True, model=model)
    refiner = MatteRefiner(settings)
    stems = [p.stem for p in list_images(path)] if masks is not None else []
    per = {m: {"iou": [], "bf": [], "dt": DtSSD(), "flicker": Flicker()} for m in METHODS}
    try:
        for index, image in enumerate(clip_frames(path)):
            mattes = three_mattes(models, settings, refiner, image, used)
            gt = mask_for(masks, stems[index]) if masks is not None else None
            for method, alpha in zip(METHODS, mattes):
                acc = per[method]
                if gt is not None:
                    acc["iou"].append(iou(alpha, gt))
                    acc["bf"].append(boundary_f(alpha, gt))
                    acc["dt"].update(alpha, gt)
                else:
                    acc["flicker"].update(image, alpha)
            if save is not None:
                save_png(save / f"{index:06d}.png", mattes[2])
    finally:
        models.close()
    if masks is not None:
        return {m: {"IoU": float(np.mean(a["iou"])), "boundary F": float(np.mean(a["bf"])),
                    "dtSSD": a["dt"].result()} for m, a in per.items()}
    return {m: {"flicker": a["flicker"].result()} for m, a in per.items()}


def run_set(s: EvalSet, settings: MatteSettings, save: Path | None,
            model: str | None = None) -> dict[str, dict[str, float]]:
    """Scores by method and metric for one set (`model`: run it instead of the preset's)."""
    if s.kind == "photos":
        return run_photos(s, settings, save, model)
    if s.kind == "objects":
        return run_objects(s, save, model)
    if s.kind == "masked clip":
        return run_clip(s.items[0], settings, s.masks, save / s.name if save else None, s.models_used, model)
    results = [run_clip(clip, settings, None, save / s.name / clip.stem if save else None, s.models_used, model)
               for clip in s.items]
    return {m: {"flicker": float(np.mean([r[m]["flicker"] for r in results]))} for m in METHODS}


# -- cost --------------------------------------------------------------------------------------
def timing_frames(sets: list[EvalSet], count: int, size: tuple[int, int]) -> list[np.ndarray]:
    """Up to `count` consecutive frames of the first clip (else photos), resized to `size`."""
    clips = [s.items[0] for s in sets if s.kind not in ("photos", "objects")]
    if clips:
        images = []
        for image in clip_frames(clips[0]):
            images.append(image)
            if len(images) >= count:
                break
    else:
        images = [load_image_rgb(p) for s in sets if s.kind == "photos" for p in s.items][:count]
    return [cv2.resize(im, size, interpolation=cv2.INTER_AREA if im.shape[1] > size[0] else cv2.INTER_LINEAR)
            for im in images]


@dataclass
class Cost:
    """Median ms per frame of each step."""

    model: str  # the model the settings run at this size
    segment_raw: float
    upsample: float
    segment_ours: float
    matte: float

    @property
    def raw(self) -> float:
        return self.segment_raw + self.upsample

    @property
    def ours(self) -> float:
        return self.segment_ours + self.matte


def time_paths(frames: list[np.ndarray], settings: MatteSettings, rounds: int = 3) -> Cost:
    """The raw and our path timed in alternation, step by step, frame by frame in order (so
    the stabiliser does its real work); the first round warms up."""
    size = (frames[0].shape[1], frames[0].shape[0])
    model = settings.model_for(size)
    raw_seg, our_seg = Segmenter(RAW_MODEL, video=True, track=False), Segmenter.for_video(settings, size)
    samples: dict[str, list[float]] = {"segment raw": [], "upsample": [], "segment ours": [], "matte": []}
    try:
        for rnd in range(rounds + 1):  # the first round warms up
            refiner = MatteRefiner(settings)
            for image in frames:
                t0 = time.perf_counter()
                conf = raw_seg.confidence(image)
                t1 = time.perf_counter()
                raw_alpha(conf, size)
                t2 = time.perf_counter()
                conf = our_seg.confidence(image)
                t3 = time.perf_counter()
                refiner.refine(conf, image)
                t4 = time.perf_counter()
                if rnd:
                    for key, dt in zip(samples, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                        samples[key].append(dt * 1000.0)
    finally:
        raw_seg.close()
        our_seg.close()
    med = {key: statistics.median(v) for key, v in samples.items()}
    return Cost(model, med["segment raw"], med["upsample"], med["segment ours"], med["matte"])


# -- report ------------------------------------------------------------------------------------
def print_objects_table(rows: list[tuple[EvalSet, dict[str, dict[str, float]]]]) -> None:
    """The object sets: one line per path (ms/photo: soft includes the model passes; fast and
    matting are on top of soft)."""
    for s, scores in rows:
        model = ", ".join(sorted(s.models_used))
        print(f"objects set {s.name} ({len(s.items)} photos, model {model}, "
              f"{scores['soft']['passes/photo']:.2f} model passes a photo in soft):")
        print(f"  {'path':12s} {'IoU':>7s} {'bound. F':>8s} {'MAD':>7s} {'ms/photo':>9s}")
        for m in OBJECT_METHODS:
            v = scores[m]
            print(f"  {m:12s} {v['IoU']:7.3f} {v['boundary F']:8.3f} {v['MAD']:7.1f} {v['ms/photo']:9.0f}")
    print("(raw (rembg): one view, 320 map bilinear, min-max normalised; soft: ObjectMatter.soft; "
          "fast, matting: soft + refine; ms of fast and matting on top of soft)")


def print_table(rows: list[tuple[EvalSet, dict[str, dict[str, float]]]]) -> None:
    if not rows:
        return
    print(f"{'set':16s} {'n':>4s}  {'metric':11s} " + " ".join(f"{m:>11s}" for m in METHODS))
    for s, scores in rows:
        first = True
        for metric in scores["ours"]:
            n = str(len(s.items)) if first else ""
            name = s.name if first else ""
            values = " ".join(f"{scores[m][metric]:11.3f}" if metric in ("IoU", "boundary F")
                              else f"{scores[m][metric]:11.2f}" for m in METHODS)
            print(f"{name:16s} {n:>4s}  {metric:11s} {values}")
            first = False
    print("(IoU, boundary F: higher is better; MAD, dtSSD, flicker: lower is better)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="evaluation folder laid out like ../shared/eval")
    parser.add_argument("--sets", help="comma-separated set names to run (default: all)")
    parser.add_argument("--timing-frames", type=int, default=60, help="frames for the 1280x720 cost (0: skip)")
    parser.add_argument("--save-mattes", type=Path, help="write the engine's mattes as PNG under this folder")
    defaults = MatteSettings()
    parser.add_argument("--preset", choices=list(PRESETS), default=defaults.preset)
    parser.add_argument("--model", help="run this model (general, landscape, rvm, u2netp, a path) instead of "
                                        "the preset's; the table's model column says which ran")
    parser.add_argument("--object-sets", default=OBJECT_SETS,
                        help=f"comma-separated photo folders scored on the object path (default {OBJECT_SETS}); "
                             "--model picks the object model there (default u2netp)")
    parser.add_argument("--smoothing", type=float, default=defaults.smoothing)
    parser.add_argument("--threshold", type=float, default=defaults.threshold)
    parser.add_argument("--softness", type=float, default=defaults.softness)
    parser.add_argument("--feather", type=float, default=defaults.feather)
    parser.add_argument("--grow", type=float, default=defaults.grow)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"{args.data}: no such folder")
    settings = MatteSettings(threshold=args.threshold, softness=args.softness, grow=args.grow,
                             feather=args.feather, smoothing=args.smoothing, preset=args.preset)
    sets = find_sets(args.data, set(args.object_sets.split(",")) if args.object_sets else set())
    if args.sets:
        wanted = set(args.sets.split(","))
        sets = [s for s in sets if s.name in wanted]
    if not sets:
        parser.error(f"{args.data}: no evaluation sets found")
    print(f"settings: {settings}")
    rows = []
    for s in sets:
        t0 = time.perf_counter()
        rows.append((s, run_set(s, settings, args.save_mattes, args.model)))
        used = ", ".join(f"{model} {n}" for model, n in sorted(s.models_used.items()))
        unit = "photos" if s.kind in ("photos", "objects") else "frames"
        print(f"  {s.name}: {len(s.items)} {'photos' if unit == 'photos' else 'clip(s)'} "
              f"in {time.perf_counter() - t0:.1f} s; model ({unit}): {used}", file=sys.stderr)
    print()
    print_table([(s, r) for s, r in rows if s.kind != "objects"])
    print_objects_table([(s, r) for s, r in rows if s.kind == "objects"])
    if args.timing_frames > 0 and any(s.kind != "objects" for s in sets):
        frames = timing_frames(sets, args.timing_frames, (1280, 720))
        cost = time_paths(frames, settings)
        print()
        print(f"per-frame cost at 1280x720 ({len(frames)} frames, median ms; segmentation + matte):")
        print(f"  raw model: {cost.raw:6.2f} = general model {cost.segment_raw:.2f} "
              f"+ bilinear upsample {cost.upsample:.2f}")
        crops = "its" if settings.preset_spec.crop_model == "same" else "the nearer model on"
        print(f"  {settings.preset + ':':10s}{cost.ours:6.2f} = {cost.model} model ({crops} person crops) "
              f"{cost.segment_ours:.2f} + matte {cost.matte:.2f}")
        print(f"  ratio {cost.ours / cost.raw:.2f}  (the same matte after the general model: "
              f"{(cost.segment_raw + cost.matte) / cost.raw:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
