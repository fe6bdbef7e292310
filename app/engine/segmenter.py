"""Person segmentation with MediaPipe's Tasks ImageSegmenter on the selfie models.

The model sees the frame resized in one bilinear step straight to its input size (256x256
or 256x144), exactly the picture it was trained on: no intermediate copy for MediaPipe to
resample a second time, and no pre-blur (an area-averaged, softer input measurably moves the
model's edges: on DAVIS parkour, IoU 0.66 instead of 0.72). The confidence map comes back at
a small size with the frame's aspect ratio (`inference_size`, just large enough to cover the
model's input): upsampling to full resolution is the matte stage's job, where it can follow
the image.

A still image (`video=False`) is also segmented mirrored, and the two maps are averaged:
the model is not exactly mirror-symmetric, and the average of the two views places edges
better (on photos, boundary F +0.01, IoU +0.005). Then it is segmented a second time, cropped
to the person: the box around the first map's person (confidence > 0.5), widened by
PHOTO_CROP_MARGIN of its size on each side and then towards the input shape of the model
that fits it best (landscape for a crop wider than 4:3, general otherwise, as
`matte.choose_model` picks; a model given by path keeps its own), is segmented again
(mirrored too) and pasted over the first map. The person then fills the model's input
instead of a part of it, and the model sees them at its own aspect ratio: on photos of
people, IoU +0.013, boundary F +0.03, MAD -3.4. A photo costs four model passes (a crop
that would cover the whole image is skipped), which is batch work, not real time; video
frames get one pass.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from app.engine.errors import InputError
from app.engine.matte import choose_model
from app.engine.tracking import PersonTracker, fit_box, person_bounds

if TYPE_CHECKING:
    from app.engine.matte import MatteSettings

# Model input sizes (width, height) of the two models that mediapipe 0.10.21 ships.
BUNDLED_MODELS: dict[str, tuple[str, tuple[int, int]]] = {
    "general": ("selfie_segmentation.tflite", (256, 256)),
    "landscape": ("selfie_segmentation_landscape.tflite", (256, 144)),
}
# Share of the person's box added on each side before a photo's second, cropped pass.
PHOTO_CROP_MARGIN = 0.1


def bundled_model_dir() -> Path:
    """Folder inside the installed mediapipe package that holds the selfie models."""
    import mediapipe

    return Path(mediapipe.__file__).parent / "modules" / "selfie_segmentation"


@dataclass(frozen=True)
class ModelSpec:
    """A model file and the input size (width, height) it was trained at."""

    path: Path
    input_size: tuple[int, int]

    @classmethod
    def resolve(cls, name_or_path: str | os.PathLike[str]) -> "ModelSpec":
        """`general`, `landscape`, or a path to a .tflite file; raises InputError if missing."""
        key = str(name_or_path)
        if key in BUNDLED_MODELS:
            filename, size = BUNDLED_MODELS[key]
            path = bundled_model_dir() / filename
        else:
            path, size = Path(key).expanduser(), (256, 256)
        if not path.is_file():
            raise InputError(f"{path}: model file not found")
        return cls(path=path, input_size=size)


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


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what native libraries (TFLite, absl) print to fd 2 while models load."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Segmenter:
    """Turns RGB frames into a low-resolution person confidence map (float32 in [0, 1]).

    `video=True` uses MediaPipe's VIDEO mode (frames in order, internal timestamps) and
    runs the model once per frame, with `track` (the default) on the crop around the person
    that `tracking.PersonTracker` follows (sometimes on the whole frame as well; with
    `crop_model="auto"` and a bundled model, the crop is segmented by the bundled model
    nearer its shape), else on the whole frame;
    `video=False` treats each image on its own as a photo
    (mirrored views averaged, then a second pass on the person's crop, see the module doc),
    and with a bundled model may also load the other bundled model, on first need, for
    crops nearer its shape. Not thread-safe: one per thread.
    """

    def __init__(self, model: str | os.PathLike[str] = "general", *, video: bool = True,
                 track: bool = True, crop_model: str = "same") -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        self.spec = ModelSpec.resolve(model)
        self._name = str(model)
        self._video = video
        self._crop_segmenters: dict[str, Segmenter] = {}  # other bundled models, for crops
        self._tracker: PersonTracker | None = None
        self._map_input = self.spec.input_size  # tracked maps: inference_size for this input
        if video and track:
            if crop_model == "auto" and self._name in BUNDLED_MODELS:
                self._tracker = PersonTracker({name: size for name, (_, size) in BUNDLED_MODELS.items()})
                self._map_input = BUNDLED_MODELS["general"][1]  # fine enough for either model's crops
            else:
                self._tracker = PersonTracker({self._name: self.spec.input_size})
        self._tracked_size: tuple[int, int] | None = None
        self._timestamps_ms = itertools.count(0, 33)
        data = self.spec.path.read_bytes()
        options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_buffer=data),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            output_confidence_masks=True,
            output_category_mask=False,
        )
        try:
            with quiet_native_stderr(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._segmenter = vision.ImageSegmenter.create_from_options(options)
        except Exception as exc:  # mediapipe raises RuntimeError/ValueError with long texts
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{self.spec.path}: not a usable segmentation model ({reason})") from None

    def confidence(self, image: np.ndarray) -> np.ndarray:
        """Person confidence (float32 in [0, 1]) for an RGB uint8 image, with the image's
        aspect ratio: at `inference_size` of it for a video frame; for a photo at least that
        and at most the image's size (large enough to keep the cropped pass's detail)."""
        if self._video:
            if self._tracker is not None:
                return self._tracked(image)
            return self._map(image, self._segment(self._model_input(image), next(self._timestamps_ms)))
        conf = self._photo(self, image)
        crop = self._person_crop(conf, image.shape[1], image.shape[0])
        if crop is None:
            return conf
        x0, y0, x1, y1 = crop
        cropped = self._photo(self._crop_segmenter(x1 - x0, y1 - y0), np.ascontiguousarray(image[y0:y1, x0:x1]))
        h, w = image.shape[:2]
        scale = min(1.0, cropped.shape[1] / (x1 - x0))
        out_w, out_h = max(conf.shape[1], round(w * scale)), max(conf.shape[0], round(h * scale))
        out = cv2.resize(conf, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        return _paste(out, cropped, crop, (w, h))

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
            conf = self._segment(self._model_input(image), ts)
            return cv2.resize(conf, (out_w, out_h), interpolation=cv2.INTER_LINEAR)

        out = whole_frame(timestamp) if plan.whole else np.zeros((out_h, out_w), np.float32)
        if plan.box is not None:
            x0, y0, x1, y1 = plan.box
            seg = self._other_segmenter(plan.model)
            crop = seg._segment(seg._model_input(image[y0:y1, x0:x1]), timestamp + 1)  # (after `whole`)
            if not plan.whole and float(crop.max()) < 0.5:  # nobody where they were (a cut, a quick exit):
                out = whole_frame(timestamp + 2)  # look again now
            else:
                out = _paste(out, crop, plan.box, (w, h))
        self._tracker.update(out, (w, h))
        return out

    def _other_segmenter(self, name: str | None) -> "Segmenter":
        """The segmenter (same mode, no tracking) running model `name` on crops: this one
        when `name` is None or its own, else one made on first use."""
        if name is None or name == self._name:
            return self
        if name not in self._crop_segmenters:
            self._crop_segmenters[name] = Segmenter(name, video=self._video, track=False)
        return self._crop_segmenters[name]

    @classmethod
    def for_video(cls, settings: "MatteSettings", frame_size: tuple[int, int],
                  model: str | None = None) -> "Segmenter":
        """The segmenter a stream of `frame_size` runs under `settings`: `model` if given
        (its crops too), else the preset's model and crop policy."""
        if model:
            return cls(model, video=True)
        return cls(settings.model_for(frame_size), video=True, crop_model=settings.preset_spec.crop_model)

    def _model_input(self, image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, self.spec.input_size, interpolation=cv2.INTER_LINEAR)

    def _map(self, image: np.ndarray, conf: np.ndarray) -> np.ndarray:
        """The model's output `conf` at `inference_size` of `image`."""
        map_size = inference_size((image.shape[1], image.shape[0]), self.spec.input_size)
        if conf.shape[::-1] != map_size:
            conf = cv2.resize(conf, map_size, interpolation=cv2.INTER_LINEAR)
        return conf

    @staticmethod
    def _photo(seg: "Segmenter", image: np.ndarray) -> np.ndarray:
        """`seg`'s confidence for a photo, averaged with its mirrored view's (module doc)."""
        model_input = seg._model_input(image)
        mirrored = seg._segment(np.ascontiguousarray(model_input[:, ::-1]), None)
        conf = cv2.addWeighted(seg._segment(model_input, None), 0.5, mirrored[:, ::-1], 0.5, 0.0)
        return seg._map(image, conf)

    def _person_crop(self, conf: np.ndarray, w: int, h: int) -> tuple[int, int, int, int] | None:
        """The crop (x0, y0, x1, y1, image pixels) for a photo's second pass: the box of
        confidence > 0.5 in `conf`, widened by PHOTO_CROP_MARGIN each side, then towards the
        input shape of the model that will segment it, within the image; None if there is
        no person or the crop would cover the whole image."""
        bounds = person_bounds(conf, (w, h), PHOTO_CROP_MARGIN)
        if bounds is None:
            return None
        x0, y0, x1, y1 = bounds
        return fit_box(bounds, self._crop_segmenter(x1 - x0, y1 - y0).spec.input_size, (w, h))

    def _crop_segmenter(self, w: float, h: float) -> "Segmenter":
        """The IMAGE-mode segmenter for a crop of w x h: this one, unless it runs a bundled
        model and the other bundled model's input is nearer the crop's shape (made on first
        use)."""
        if self._name not in BUNDLED_MODELS:
            return self
        return self._other_segmenter(choose_model("auto", (int(round(w)), int(round(h)))))

    def _segment(self, model_input: np.ndarray, timestamp_ms: int | None) -> np.ndarray:
        """The person confidence (float32, model_input's size) from one model pass."""
        import mediapipe as mp

        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(model_input))
        if timestamp_ms is None:
            result = self._segmenter.segment(mp_image)
        else:
            result = self._segmenter.segment_for_video(mp_image, timestamp_ms)
        return result.confidence_masks[-1].numpy_view().copy()

    def reset(self) -> None:
        """Forget temporal state (call on a cut or source switch)."""
        self._timestamps_ms = itertools.count(next(self._timestamps_ms) + 1000, 33)
        if self._tracker is not None:
            self._tracker.reset()

    def close(self) -> None:
        """Release the model; safe to call twice."""
        seg, self._segmenter = getattr(self, "_segmenter", None), None
        if seg is not None:
            seg.close()
        for other in getattr(self, "_crop_segmenters", {}).values():
            other.close()
        self._crop_segmenters = {}

    def __enter__(self) -> "Segmenter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
