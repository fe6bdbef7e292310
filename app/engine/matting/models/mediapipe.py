"""MediaPipe Tasks runtime: the selfie models bundled in the mediapipe wheel, or any
MediaPipe segmentation `.tflite` by path. Nothing is downloaded."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.engine.core.errors import InputError
from app.engine.matting.models.tflite import check_segmenter

# Model input sizes (width, height) of the two models that mediapipe 0.10.21 ships.
BUNDLED_MODELS: dict[str, tuple[str, tuple[int, int]]] = {
    "general": ("selfie_segmentation.tflite", (256, 256)),
    "landscape": ("selfie_segmentation_landscape.tflite", (256, 144)),
}


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
            if not path.is_file():
                raise InputError(f"{path}: model file not found")
            return cls(path=path, input_size=size)
        path = Path(key).expanduser()
        if not path.is_file():
            raise InputError(f"{path}: model file not found")
        return cls(path=path, input_size=check_segmenter(path))  # before MediaPipe loads it


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


class MediaPipeModel:
    """One MediaPipe ImageSegmenter: `run` takes an RGB image at `input_size` and returns
    the person confidence (float32 0..1, same size). `video=True` runs MediaPipe's VIDEO
    mode (frames in order, with timestamps). Not thread-safe."""

    recurrent = False  # carries state from frame to frame (reset at a cut)
    mirror_photos = True  # the model is not mirror-symmetric: photos average both views
    crop_photos = True  # a 256-px model sees a person's crop in more detail
    provider = "cpu"  # MediaPipe Tasks runs these models on the CPU here

    def __init__(self, model: str | os.PathLike[str] = "general", *, video: bool = True) -> None:
        from mediapipe.tasks.python import (  # heavy: loaded on first model
            BaseOptions,
            vision,
        )

        self.name = str(model)
        self.spec = ModelSpec.resolve(model)
        self.video = video
        options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_buffer=self.spec.path.read_bytes()),
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

    @property
    def input_size(self) -> tuple[int, int]:
        return self.spec.input_size

    @property
    def task(self) -> Any:
        """The MediaPipe ImageSegmenter itself (for measuring it bare)."""
        return self._segmenter

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """`image` resized in one bilinear step to the model's input."""
        return cv2.resize(image, self.spec.input_size, interpolation=cv2.INTER_LINEAR)

    def run(self, model_input: np.ndarray, timestamp_ms: int | None = None) -> np.ndarray:
        """The person confidence (float32, model_input's size) from one pass; video mode
        needs increasing `timestamp_ms`."""
        import mediapipe as mp

        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(model_input))
        if timestamp_ms is None:
            result = self._segmenter.segment(mp_image)
        else:
            result = self._segmenter.segment_for_video(mp_image, timestamp_ms)
        return result.confidence_masks[-1].numpy_view().copy()

    def reset(self) -> None:
        """Nothing to forget: MediaPipe's VIDEO mode keeps no state a caller can reset."""

    def close(self) -> None:
        """Release the model; safe to call twice."""
        seg, self._segmenter = getattr(self, "_segmenter", None), None
        if seg is not None:
            seg.close()
