"""One photo of a `remove` batch: decide the subject (a person or an object), cut it out
with fine edges, lay it out, write it, and judge how sure the cut-out is."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from app.engine.backgrounds.base import Background, ColourBackground, TransparentBackground
from app.engine.backgrounds.spec import parse_still_background
from app.engine.compositing.base import composite
from app.engine.core.errors import BackdropError, OutputError
from app.engine.files.layout import DEFAULT_JPEG_QUALITY, Layout, encode_params, place
from app.engine.files.review import Thumbs, write_thumbnails
from app.engine.imaging.images import load_photo, write_file, write_reason
from app.engine.matting.models.open import model_task
from app.engine.matting.models.registry import find, weights_path
from app.engine.matting.presets import MatteSettings
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.matting.stills.confidence import cutout_quality
from app.engine.matting.stills.fine_edges import refine, work_size
from app.engine.matting.stills.objects import ObjectMatter
from app.engine.matting.stills.subject import choose_subject
from app.engine.outputs.atomic import already_exists, commit, discard, partial_path

SUBJECTS = ("auto", "person", "object")
EDGES = ("fast", "matting")
OBJECT_MODEL = "u2netp"  # shipped; u2net is taken when fetched (OBJECT_MODELS, best first)
OBJECT_MODELS = ("u2net", "u2netp")
FULL_SIZE_MAP_SIDE = 2048  # photos up to this long side get their object map at full size (as measured)...
REDUCED_MAP_SIDE = 1024    # ... larger ones at this size: `refine` works at 640-800 px anyway


@dataclass(frozen=True)
class RemoveJob:
    """One photo to cut out. `model` None: the preset's person model for the photo's shape,
    and the best object model installed; `review`: the folder of the review page, whose
    thumbnails are written as soon as the photo is done."""

    source: Path
    target: Path
    background: str  # a --background SPEC, as `process` takes (parse_still_background)
    model: str | None
    overwrite: bool
    settings: MatteSettings
    subject: str = "auto"
    edges: str = "matting"
    layout: Layout = field(default_factory=Layout)
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    review: Path | None = None


@dataclass(frozen=True)
class RemoveResult:
    source: str
    output: str
    status: str  # ok, flagged, failed
    subject: str  # person or object ("" when it failed before deciding)
    confidence: float
    subject_share: float
    note: str
    ms: float
    thumbs: Thumbs | None = None


_segmenters: dict[str, Segmenter] = {}  # one IMAGE-mode segmenter per model, per process
_objects: dict[str, ObjectMatter] = {}
_backgrounds: dict[str, Background] = {}


def _segmenter(model: str) -> Segmenter:
    if model not in _segmenters:
        _segmenters[model] = Segmenter(model, video=False)
    return _segmenters[model]


def object_model() -> str:
    """The best object model installed (U²-Net once fetched, else the shipped U²-Netp)."""
    for name in OBJECT_MODELS:
        manifest = find(name)
        if manifest is not None and weights_path(manifest).is_file():
            return name
    return OBJECT_MODEL


def _object_matter(model: str) -> ObjectMatter:
    if model not in _objects:
        _objects[model] = ObjectMatter(model)
    return _objects[model]


def _background_for(spec: str) -> Background:
    if spec not in _backgrounds:
        _backgrounds[spec] = parse_still_background(spec)
    return _backgrounds[spec]


def close_workers_parts() -> None:
    """Close the backgrounds opened in this process (a scene holds the GL thread)."""
    while _backgrounds:
        _backgrounds.popitem()[1].close()


def plain_colour(background: Background) -> tuple[int, int, int] | None | bool:
    """The RGB colour of a plain background, None for transparent, False for any other."""
    if isinstance(background, TransparentBackground):
        return None
    if isinstance(background, ColourBackground):
        return tuple(int(v) for v in background.rgb)
    return False


def _is_object_model(model: str | None) -> bool:
    """The model named (shipped, fetched, trained, or a path with its manifest) is for objects."""
    return model is not None and model_task(model) == "object"


def cut_out_object(rgb: np.ndarray, model: str, edges: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(object probability, alpha uint8, foreground uint8) of `rgb` with the object model
    `model` and `edges` (fast or matting), as `remove --subject object` makes them; `rgb`'s
    edge pixels take the object's colours (it becomes the foreground: no copy)."""
    matter = _object_matter(model)
    big = max(rgb.shape[:2]) > FULL_SIZE_MAP_SIDE  # a huge photo's map at a working size (memory)
    soft = matter.soft(rgb, work_size(rgb.shape, REDUCED_MAP_SIDE) if big else None)
    alpha8, foreground = refine(rgb, soft, edges, in_place=True)
    return soft, alpha8, foreground


def cut_out(job: RemoveJob, rgb: np.ndarray) -> tuple[str, np.ndarray, np.ndarray, float, str, float]:
    """(subject, alpha uint8, foreground uint8, confidence, flag, subject share) for `rgb`,
    whose edge pixels take the subject's colours (it becomes the foreground: no copy)."""
    subject, why = job.subject, ""
    person_soft = None
    if subject == "auto" and _is_object_model(job.model):
        subject = "object"
    if subject in ("auto", "person"):
        person_model = job.model if subject == "person" and job.model else \
            job.settings.photo_model_for((rgb.shape[1], rgb.shape[0]))
        person_soft = _segmenter(person_model).confidence(rgb)
        if subject == "auto":
            subject, why = choose_subject(person_soft)
    if subject == "person":
        soft = person_soft
        alpha8 = MatteRefiner(job.settings).refine(soft, rgb)
        if job.edges == "matting":
            guide = alpha8 if max(rgb.shape[:2]) <= FULL_SIZE_MAP_SIDE else \
                cv2.resize(alpha8, work_size(rgb.shape, REDUCED_MAP_SIDE), interpolation=cv2.INTER_AREA)
            _, foreground = refine(rgb, guide.astype(np.float32) / 255.0, "matting", in_place=True)
        else:
            foreground = rgb
    else:
        model = job.model if _is_object_model(job.model) else object_model()
        soft, alpha8, foreground = cut_out_object(rgb, model, job.edges)
    confidence, flag = cutout_quality(soft)
    share = float(np.count_nonzero(alpha8 > 127)) / alpha8.size
    if why and flag:
        flag = f"{flag}; cut out as {subject}: {why}"
    return subject, alpha8, foreground, confidence, flag, share


def remove_one(job: RemoveJob) -> RemoveResult:
    """Cut out one photo and write it; never raises for a bad file, reports it instead."""
    t0 = time.perf_counter()
    try:
        if job.source.resolve() == job.target.resolve():
            raise OutputError(f"{job.target}: output is the same path as the input; refusing to overwrite it")
        if os.path.lexists(job.target) and not job.overwrite:
            raise already_exists(job.target)
        photo = load_photo(job.source)
        subject, alpha, foreground, confidence, flag, share = cut_out(job, photo.rgb)
        if photo.alpha is not None:  # what the file itself made transparent stays so
            alpha = cv2.min(alpha, photo.alpha)
        background = _background_for(job.background)
        colour = plain_colour(background)
        if colour is False:
            result = composite(foreground, alpha, background.render(photo.rgb, 0.0))
        else:
            result = place(foreground, alpha, job.layout, colour)
        write_image(job.target, result, job.overwrite, job.jpeg_quality, consume=True)
        thumbs = None
        if job.review is not None:
            thumbs = write_thumbnails(job.review, job.target.stem, photo.rgb, foreground, alpha)
        return RemoveResult(str(job.source), str(job.target), "flagged" if flag else "ok", subject,
                            round(confidence, 3), round(share, 4), flag, _ms(t0), thumbs)
    except BackdropError as exc:
        thumbs = _original_thumb(job)
        return RemoveResult(str(job.source), "", "failed", "", 0.0, 0.0, str(exc), _ms(t0), thumbs)


def _original_thumb(job: RemoveJob) -> Thumbs | None:
    """The failed photo's own thumbnail for the review page, when it can be read at all."""
    if job.review is None:
        return None
    try:
        return write_thumbnails(job.review, job.target.stem, load_photo(job.source, 400).rgb)
    except BackdropError:
        return None


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


def write_image(target: Path, image: np.ndarray, overwrite: bool = True,
                jpeg_quality: int = DEFAULT_JPEG_QUALITY, consume: bool = False) -> None:
    """Write RGB or RGBA `image` to `target` (format by extension) via a temporary name;
    without `overwrite`, OutputError if `target` exists by then (see `atomic.commit`).
    `consume`: `image` is not needed afterwards (its channels are reordered in place)."""
    code = cv2.COLOR_RGBA2BGRA if image.ndim == 3 and image.shape[2] == 4 else cv2.COLOR_RGB2BGR
    partial = partial_path(target)
    try:
        ok, data = cv2.imencode(target.suffix, cv2.cvtColor(image, code, dst=image if consume else None),
                                encode_params(target.suffix, jpeg_quality))
        if not ok:
            raise OutputError(f"{target}: cannot encode as {target.suffix}")
        write_file(partial, data, name=target)  # a full disk says so, naming the target
        commit(partial, target, overwrite)
    except OSError as exc:
        discard(partial)
        raise OutputError(f"{target}: cannot be written ({write_reason(exc)})") from None
    except BaseException:  # a stop signal midway: nothing half-written stays
        discard(partial)
        raise
