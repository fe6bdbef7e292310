"""Person segmentation: RGB frames in, a low-resolution person confidence map out.

Video frames get one model pass each, on the crop around the tracked person when they are
small in the picture; photos get the mirrored-average and cropped second pass described in
`docs/matting.md`. The confidence map has the frame's aspect ratio (`inference_size`);
upsampling to full resolution is the refiner's job.
"""

from __future__ import annotations

import itertools
import os

import cv2
import numpy as np

from app.engine.matting.cuts import CutDetector
from app.engine.matting.models.base import SegmentationModel
from app.engine.matting.models.mediapipe import BUNDLED_MODELS, ModelSpec
from app.engine.matting.models.open import open_model
from app.engine.matting.presets import MatteSettings, shape_model
from app.engine.matting.tracking import PersonTracker, fit_box, person_bounds

# Share of the person's box added on each side before a photo's second, cropped pass.
PHOTO_CROP_MARGIN = 0.1


def inference_size(frame_size: tuple[int, int], input_size: tuple[int, int]) -> tuple[int, int]:
    """The smallest size with the frame's aspect ratio that covers the model's input."""
    fw, fh = frame_size
    mw, mh = input_size
    scale = min(1.0, max(mw / fw, mh / fh))
    return max(1, round(fw * scale)), max(1, round(fh * scale))


def _paste(out: np.ndarray, crop_conf: np.ndarray, box: tuple[int, int, int, int],
           frame_size: tuple[int, int]) -> np.ndarray:
    """`out` (a map of the whole frame, any size) with `crop_conf` (the map of the crop
    `box`, frame pixels) resized into the box's place."""
    sx, sy = out.shape[1] / frame_size[0], out.shape[0] / frame_size[1]
    x0, y0, x1, y1 = round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = cv2.resize(crop_conf, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    return out


def _at_map_size(image: np.ndarray, conf: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """The model's output `conf` at `inference_size` of `image`."""
    map_size = inference_size((image.shape[1], image.shape[0]), input_size)
    if conf.shape[::-1] != map_size:
        conf = cv2.resize(conf, map_size, interpolation=cv2.INTER_LINEAR)
    return conf


class Segmenter:
    """Turns RGB frames into a person confidence map (float32 in [0, 1]).

    `video=True`: frames in order, one model pass each; with `track` (the default) on the
    crop around the person that `PersonTracker` follows (with `crop_model="auto"` and a
    bundled model, the crop runs the bundled model nearer its shape). `video=False`: each
    image is a photo. Not thread-safe: one per thread.
    """

    def __init__(self, model: str | os.PathLike[str] = "general", *, video: bool = True,
                 track: bool = True, crop_model: str = "same", frame_size: tuple[int, int] | None = None) -> None:
        self.model: SegmentationModel = open_model(model, video=video, frame_size=frame_size)
        self._video = video
        self._other_models: dict[str, SegmentationModel] = {}  # other bundled models, for crops
        self._tracker: PersonTracker | None = None
        self._map_input = self.model.input_size  # tracked maps: inference_size for this input
        if video and track:
            if crop_model == "auto" and self.model.name in BUNDLED_MODELS:
                self._tracker = PersonTracker({name: size for name, (_, size) in BUNDLED_MODELS.items()})
                self._map_input = BUNDLED_MODELS["general"][1]  # fine enough for either model's crops
            else:
                self._tracker = PersonTracker({self.model.name: self.model.input_size})
        self._tracked_size: tuple[int, int] | None = None
        self._timestamps_ms = itertools.count(0, 33)
        self._cuts = CutDetector() if video and self.model.recurrent else None  # its state ends at a cut

    @classmethod
    def for_video(cls, settings: MatteSettings, frame_size: tuple[int, int],
                  model: str | None = None) -> "Segmenter":
        """The segmenter a stream of `frame_size` runs under `settings`: `model` if given
        (its crops too), else the preset's model and crop policy."""
        if model:
            return cls(model, video=True, frame_size=frame_size)
        return cls(settings.model_for(frame_size), video=True, crop_model=settings.preset_spec.crop_model,
                   frame_size=frame_size)

    @property
    def spec(self) -> ModelSpec:
        """The MediaPipe model file and input size (MediaPipe models only)."""
        return self.model.spec

    @property
    def provider(self) -> str:
        """Where the model runs ("cpu", "cuda", ...)."""
        return self.model.provider

    @property
    def description(self) -> str:
        """The model and where it runs, e.g. "rvm on cuda"."""
        return f"{self.model.name} on {self.model.provider}"

    def confidence(self, image: np.ndarray) -> np.ndarray:
        """Person confidence (float32 in [0, 1]) for an RGB uint8 image, with the image's
        aspect ratio: at `inference_size` of it for a video frame; for a photo at least that
        and at most the image's size (large enough to keep the cropped pass's detail)."""
        if not self._video:
            return self._photo(image)
        if self._cuts is not None and self._cuts.is_cut(image):
            for model in (self.model, *self._other_models.values()):
                model.reset()
        if self._tracker is not None:
            return self._tracked(image)
        conf = self._segment(self.model.prepare(image), next(self._timestamps_ms))
        return _at_map_size(image, conf, self.model.input_size)

    def _segment(self, model_input: np.ndarray, timestamp_ms: int | None,
                 model: SegmentationModel | None = None) -> np.ndarray:
        """One pass of `model` (default: this segmenter's own); every pass goes through here."""
        return (model or self.model).run(model_input, timestamp_ms)

    def _tracked(self, image: np.ndarray) -> np.ndarray:
        """A video frame's map (at `inference_size`, as untracked), from the passes the
        tracker plans: the crop around the person (pasted in place, zero around it) and/or
        the whole frame."""
        h, w = image.shape[:2]
        out_w, out_h = inference_size((w, h), self._map_input)
        timestamp = next(self._timestamps_ms)
        if self._tracked_size != (w, h):  # a new source: its person is not where the last one was
            self._tracker.reset()
            self._tracked_size = (w, h)
        plan = self._tracker.plan()

        def whole_frame(ts: int) -> np.ndarray:
            conf = self._segment(self.model.prepare(image), ts)
            return cv2.resize(conf, (out_w, out_h), interpolation=cv2.INTER_LINEAR)

        out = whole_frame(timestamp) if plan.whole else np.zeros((out_h, out_w), np.float32)
        if plan.box is not None:
            x0, y0, x1, y1 = plan.box
            model = self._model_named(plan.model)
            crop = self._segment(model.prepare(image[y0:y1, x0:x1]), timestamp + 1, model)  # (after `whole`)
            if not plan.whole and float(crop.max()) < 0.5:  # nobody where they were (a cut, a quick exit):
                out = whole_frame(timestamp + 2)  # look again now
            else:
                out = _paste(out, crop, plan.box, (w, h))
        self._tracker.update(out, (w, h))
        return out

    def _model_named(self, name: str | None) -> SegmentationModel:
        """The model `name` (same mode): this segmenter's own when `name` is None or its
        own name, else one loaded on first use."""
        if name is None or name == self.model.name:
            return self.model
        if name not in self._other_models:
            self._other_models[name] = open_model(name, video=self._video)
        return self._other_models[name]

    def _photo(self, image: np.ndarray) -> np.ndarray:
        """A photo's map: the mirrored-average pass, then (for models that gain from it) a
        second pass on the person's crop pasted over it."""
        conf = self._mirrored(self.model, image)
        crop = self._person_crop(conf, image.shape[1], image.shape[0]) if self.model.crop_photos else None
        if crop is None:
            return conf
        x0, y0, x1, y1 = crop
        cropped = self._mirrored(self._crop_model(x1 - x0, y1 - y0), np.ascontiguousarray(image[y0:y1, x0:x1]))
        h, w = image.shape[:2]
        scale = min(1.0, cropped.shape[1] / (x1 - x0))
        out_w, out_h = max(conf.shape[1], round(w * scale)), max(conf.shape[0], round(h * scale))
        out = cv2.resize(conf, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        return _paste(out, cropped, crop, (w, h))

    def _mirrored(self, model: SegmentationModel, image: np.ndarray) -> np.ndarray:
        """`model`'s confidence for a photo, averaged with its mirrored view's when the model
        asks for it."""
        model_input = model.prepare(image)
        if not model.mirror_photos:
            return _at_map_size(image, self._segment(model_input, None, model), model.input_size)
        mirrored = self._segment(np.ascontiguousarray(model_input[:, ::-1]), None, model)
        conf = cv2.addWeighted(self._segment(model_input, None, model), 0.5, mirrored[:, ::-1], 0.5, 0.0)
        return _at_map_size(image, conf, model.input_size)

    def _person_crop(self, conf: np.ndarray, w: int, h: int) -> tuple[int, int, int, int] | None:
        """The crop (x0, y0, x1, y1, image pixels) for a photo's second pass: the box of
        confidence > 0.5 in `conf`, widened by PHOTO_CROP_MARGIN each side, then towards the
        input shape of the model that will segment it, within the image; None if there is
        no person or the crop would cover the whole image."""
        bounds = person_bounds(conf, (w, h), PHOTO_CROP_MARGIN)
        if bounds is None:
            return None
        x0, y0, x1, y1 = bounds
        return fit_box(bounds, self._crop_model(x1 - x0, y1 - y0).input_size, (w, h))

    def _crop_model(self, w: float, h: float) -> SegmentationModel:
        """The model for a photo crop of w x h: this segmenter's own, unless it runs a bundled
        model and the other bundled model's input is nearer the crop's shape."""
        if self.model.name not in BUNDLED_MODELS:
            return self.model
        return self._model_named(shape_model((int(round(w)), int(round(h)))))

    def reset(self) -> None:
        """Forget temporal state (call on a cut or source switch)."""
        self._timestamps_ms = itertools.count(next(self._timestamps_ms) + 1000, 33)
        for model in (self.model, *self._other_models.values()):
            model.reset()
        if self._cuts is not None:
            self._cuts.reset()
        if self._tracker is not None:
            self._tracker.reset()

    def close(self) -> None:
        """Release the models; safe to call twice."""
        self.model.close()
        for other in self._other_models.values():
            other.close()
        self._other_models = {}

    def __enter__(self) -> "Segmenter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
