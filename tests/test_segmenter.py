"""The real MediaPipe selfie models on the shipped portrait."""

from __future__ import annotations

from support import media
import numpy as np
import pytest

from app.engine.core.errors import InputError
from app.engine.matting.models.mediapipe import ModelSpec, bundled_model_dir
from app.engine.matting.segmenter import Segmenter, inference_size


def regions(conf: np.ndarray) -> dict[str, float]:
    """Mean confidence in the person's middle and in the two top corners (flag / sky)."""
    h, w = conf.shape
    return {
        "centre": float(conf[h * 2 // 5:h * 3 // 5, w * 2 // 5:w * 3 // 5].mean()),
        "chest": float(conf[-h // 6:, w * 2 // 5:w * 3 // 5].mean()),
        "top_left": float(conf[:h // 5, :w // 8].mean()),
        "top_right": float(conf[:h // 5, -w // 8:].mean()),
    }


@pytest.mark.parametrize("model", ["general", "landscape"])
@pytest.mark.parametrize("video", [False, True])
def test_bundled_models_find_the_person(model, video):
    image = media.portrait((320, 240))
    with Segmenter(model, video=video) as seg:
        conf = seg.confidence(image)
        if video:  # VIDEO mode takes consecutive frames
            conf = seg.confidence(media.portrait((320, 240), 1 / 30))
    assert conf.dtype == np.float32 and conf.ndim == 2
    assert 0.0 <= conf.min() and conf.max() <= 1.0
    # the map has the frame's aspect ratio and covers the model's input
    h, w = conf.shape
    assert abs(w / h - 320 / 240) < 0.02
    mw, mh = seg.spec.input_size
    assert w >= mw or h >= mh
    r = regions(conf)
    assert r["centre"] > 0.9 and r["chest"] > 0.9, r
    assert r["top_left"] < 0.1 and r["top_right"] < 0.1, r


def test_confidence_map_is_reduced_for_large_frames(segmenter):
    conf = segmenter.confidence(media.portrait((1280, 720)))
    assert conf.shape == (256, 455)  # covers 256x256 at 16:9
    r = regions(conf)
    # the general model sees the 16:9 frame squeezed into its 256x256 input: a little
    # less sure of the (synthetic) person than on a 4:3 frame, still clearly a person
    assert r["centre"] > 0.85 and r["top_left"] < 0.1


def test_no_person_in_a_gradient(segmenter):
    conf = segmenter.confidence(media.gradient((320, 240)))
    assert float(np.mean(conf > 0.5)) < 0.01


def test_inference_size():
    assert inference_size((1920, 1080), (256, 256)) == (455, 256)
    assert inference_size((1280, 720), (256, 144)) == (256, 144)
    assert inference_size((200, 100), (256, 256)) == (200, 100)  # never upscaled


def test_bundled_models_resolve_to_files():
    for name in ("general", "landscape"):
        spec = ModelSpec.resolve(name)
        assert spec.path.is_file() and spec.path.parent == bundled_model_dir()
    assert ModelSpec.resolve("landscape").input_size == (256, 144)


def test_model_given_by_path(tmp_path):
    import shutil

    copy = tmp_path / "my model.tflite"
    shutil.copyfile(ModelSpec.resolve("general").path, copy)
    with Segmenter(str(copy), video=False) as seg:
        assert seg.spec.path == copy
        assert regions(seg.confidence(media.portrait((320, 240))))["centre"] > 0.9


def test_missing_model_is_an_input_error_naming_it(tmp_path):
    missing = tmp_path / "nope" / "model.tflite"
    with pytest.raises(InputError) as info:
        ModelSpec.resolve(str(missing))
    assert str(missing) in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_model_name_is_an_input_error():
    with pytest.raises(InputError) as info:
        Segmenter("tiny-model")
    assert "tiny-model" in str(info.value)


def test_garbage_model_file_is_an_input_error_naming_it(tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"TFL3 this is not a flatbuffer" * 40)
    with pytest.raises(InputError) as info:
        Segmenter(str(bad), video=False)
    message = str(info.value)
    assert str(bad) in message and "\n" not in message


def test_close_twice_is_safe():
    seg = Segmenter("general", video=False)
    seg.close()
    seg.close()


def test_photo_is_segmented_again_cropped_to_the_person(segmenter):
    # a 4:3 person in the middle of a wide, plain picture: the second pass sees the crop with
    # the general model (nearer its shape), and the map keeps the crop's detail
    canvas = np.full((480, 1440, 3), 128, np.uint8)
    canvas[:, 480:960] = media.portrait((480, 480))
    with Segmenter("landscape", video=False) as seg:
        conf = seg.confidence(canvas)
        assert set(seg._other_models) == {"general"}
    h, w = conf.shape
    assert abs(w / h - 3.0) < 0.02 and w > 256  # more detail than inference_size's 256 wide
    person = conf[h * 2 // 5:h * 3 // 5, w * 9 // 20:w * 11 // 20].mean()
    sides = max(conf[:, : w // 5].mean(), conf[:, -w // 5:].mean())
    assert person > 0.9 and sides < 0.05, (person, sides)


def test_video_frames_get_one_pass_at_inference_size():
    with Segmenter("landscape", video=True) as seg:
        conf = seg.confidence(np.full((480, 1440, 3), 128, np.uint8))
        assert conf.shape == (144, 432) and not seg._other_models
