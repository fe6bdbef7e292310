"""`backdrop train` end to end on small photos made here (rings with holes and floor
reflections, masks beside them): the training loop lowers its loss, a run through the real
command writes the run folder and installs the model, `backdrop models` lists it, `remove
--model NAME` (and the .onnx path) cuts out with it, not with the shipped U²-Netp, the service
lists and uses it, and bad data and settings get their one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.engine.matting.models.manifest import sha256_of

pytest.importorskip("torch", reason="backdrop[train] (PyTorch) is not installed; install.sh installs it")
pytestmark = pytest.mark.slow  # real training runs and subprocesses, 2-16 s each

REPO = Path(__file__).resolve().parents[1]
NAME = "test-rings"
SMALL = ["--size", "96", "--epochs", "2", "--epoch-samples", "8", "--batch", "2"]


def ring_photo(seed: int, size: tuple[int, int] = (200, 150)) -> tuple[np.ndarray, np.ndarray]:
    """A light product photo of a ring (a coloured annulus: its hole is background) with a
    faint floor reflection under it (also background), and its mask."""
    rng = np.random.default_rng(seed)
    w, h = size
    ramp = np.linspace(235, 205, h, dtype=np.float32)[:, None, None]
    photo = np.broadcast_to(ramp, (h, w, 3)).astype(np.uint8).copy()
    centre = (int(rng.integers(w // 3, 2 * w // 3)), int(rng.integers(h // 3, h // 2)))
    outer = int(rng.integers(28, 40))
    inner = int(outer * rng.uniform(0.55, 0.7))
    colour = tuple(int(v) for v in rng.integers(60, 200, 3))
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, centre, outer, 255, -1)
    cv2.circle(mask, centre, inner, 0, -1)
    reflection = (centre[0], min(h - 5, centre[1] + outer + 12))
    cv2.ellipse(photo, reflection, (outer, outer // 4), 0, 0, 360, tuple(int(c * 0.9) for c in photo[2, 2]), -1)
    photo[mask > 0] = colour
    photo = cv2.GaussianBlur(photo, (3, 3), 0)
    return photo, mask


def write_mask_folder(folder: Path, seeds: range) -> Path:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        photo, mask = ring_photo(seed)
        cv2.imwrite(str(folder / "images" / f"ring{seed}.jpg"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / "masks" / f"ring{seed}.png"), mask)
    return folder


def backdrop(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """One real `backdrop train` run (small: 96 px, 2 epochs of 8 samples) into its own models folder."""
    root = tmp_path_factory.mktemp("train")
    data = write_mask_folder(root / "data", range(8))
    general = write_mask_folder(root / "general", range(100, 103))
    scenes = root / "scenes"
    scenes.mkdir()
    for i in range(2):
        noise = np.random.default_rng(i).integers(0, 255, (120, 160, 3), dtype=np.uint8)
        cv2.imwrite(str(scenes / f"scene{i}.png"), noise)
    env = {"BACKDROP_USER_MODELS": str(root / "models"), "XDG_DATA_HOME": str(root / "xdg")}
    run_dir = root / "run"
    proc = backdrop("train", str(data), "--name", NAME, "--run-dir", str(run_dir), *SMALL,
                    "--general", str(general), "--backgrounds", str(scenes), env=env)
    assert proc.returncode == 0, proc.stderr
    return {"root": root, "data": data, "env": env, "run": run_dir, "models": root / "models", "proc": proc}


def test_the_training_loop_lowers_its_loss(tmp_path):
    import torch

    from app.engine.matting.models.registry import find, locate
    from app.training.augment import Augment
    from app.training.network import from_onnx
    from app.training.trainer import TrainConfig, Trainer

    torch.manual_seed(0)
    pairs = [ring_photo(s) for s in range(3)]
    still = Augment(flip=0, vflip=0, rotate=0, scale=(1, 1), shift=0, brightness=0, contrast=0, saturation=0)
    config = TrainConfig(epochs=4, samples_per_epoch=4, batch=2, lr=2e-4, size=96, patience=10, augment=still)
    trainer = Trainer(from_onnx(locate(find("u2netp"))), pairs, pairs[:1], find("u2netp").input, config, tmp_path)
    outcome = trainer.run()
    losses = [r.loss for r in outcome.history]
    assert len(losses) == 4 and losses[-1] < 0.8 * losses[0], losses
    assert (tmp_path / "checkpoint.pt").is_file() and (tmp_path / "best.pt").is_file()
    assert outcome.best_iou == max(r.val_iou for r in outcome.history)


def test_train_installs_the_model_with_its_manifest(trained):
    manifest = json.loads((trained["models"] / f"{NAME}.json").read_text())
    model = trained["models"] / f"{NAME}.onnx"
    assert manifest["task"] == "object" and manifest["kind"] == "saliency" and manifest["file"] == model.name
    assert manifest["sha256"] == sha256_of(model) and manifest["bytes"] == model.stat().st_size
    assert manifest["input"]["size"] == [96, 96] and 0 < manifest["edge_level"] < 1
    provenance = manifest["trained"]
    assert provenance["base"] == "u2netp" and provenance["base_sha256"] == sha256_of(
        REPO / "app/engine/matting/models/shipped/u2netp.onnx")
    assert provenance["pairs"] == 8 and len(provenance["data_fingerprint"]) == 16
    assert provenance["export_difference"] <= 1e-4  # ONNX Runtime against torch, checked by the trainer
    split = provenance["split"][0]
    assert sorted(split["train"] + split["validation"] + split["test"]) == sorted(f"ring{i}" for i in range(8))
    assert split["test"] and split["validation"]
    for side in ("base", "trained"):
        assert set(provenance["figures"][side]) == {"iou", "boundary_f", "mad"}


def test_train_writes_the_run_folder(trained):
    run = trained["run"]
    card = (run / "MODEL_CARD.md").read_text()
    assert "| u2netp |" in card and f"| {NAME} |" in card and "boundary F" in card
    assert "## General skill" in card and "General IoU" in card  # --general scored before and after
    curves = cv2.imread(str(run / "curves.png"))
    assert curves is not None and curves.shape[1] >= 600
    assert (run / "split.json").is_file() and (run / "model" / "checkpoint.pt").is_file()
    page = (run / "review" / "index.html").read_text()
    test_names = json.loads((run / "split.json").read_text())["splits"][0]["test"]
    assert all(name in page for name in test_names)
    for src in [part.split('"')[0] for part in page.split('src="')[1:]]:
        assert (run / "review" / src).is_file(), src
    assert f"{NAME}: test IoU" in trained["proc"].stdout


def test_the_trained_model_is_listed(trained):
    proc = backdrop("models", "--json", env=trained["env"])
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)["models"]}
    assert rows[NAME]["task"] == "object" and rows[NAME]["installed"]
    assert "trained from u2netp" in rows[NAME]["source"]
    assert NAME in backdrop("models", env=trained["env"]).stdout


def _alpha(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.shape[2] == 4, path
    return image[..., 3]


def test_remove_cuts_out_with_the_trained_model(trained, tmp_path):
    photo = trained["data"] / "images" / "ring3.jpg"
    outs = {}
    for label, model in (("name", NAME), ("path", str(trained["models"] / f"{NAME}.onnx")), ("base", "u2netp")):
        out = tmp_path / label
        proc = backdrop("remove", str(photo), "-o", str(out), "--model", model, "--edges", "fast", "-q",
                        env=trained["env"])
        assert proc.returncode == 0, proc.stderr
        outs[label] = _alpha(out / "ring3.png")
    assert np.array_equal(outs["name"], outs["path"])
    assert np.count_nonzero(np.abs(outs["name"].astype(int) - outs["base"]) > 8) > 100  # not U²-Netp's cut-out

    from app.engine.files.cutout import cut_out_object
    from app.engine.imaging.images import load_photo

    os.environ["BACKDROP_USER_MODELS"] = trained["env"]["BACKDROP_USER_MODELS"]
    try:
        _soft, alpha, _fg = cut_out_object(load_photo(photo).rgb, NAME, "fast")
    finally:
        del os.environ["BACKDROP_USER_MODELS"]
    assert np.array_equal(alpha, outs["name"])  # the model's own cut-out, through the same path


def test_the_service_lists_and_uses_the_trained_model(trained, tmp_path):
    from test_serve import start_server, stop

    os.environ["BACKDROP_USER_MODELS"] = trained["env"]["BACKDROP_USER_MODELS"]
    try:
        server = start_server(tmp_path / "serve")
    finally:
        del os.environ["BACKDROP_USER_MODELS"]
    try:
        with server.client() as c:
            rows = {r["name"]: r for r in c.get("/v1/models").json()["models"]}
            assert rows[NAME]["task"] == "object" and rows[NAME]["trained"] is True
            photo = (trained["data"] / "images" / "ring3.jpg").read_bytes()
            answers = {}
            for model in (NAME, "u2netp"):
                r = c.post("/v1/remove", files={"image": ("ring3.jpg", photo, "image/jpeg")},
                           data={"model": model, "edges": "fast"})
                assert r.status_code == 200, r.text
                answers[model] = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)[..., 3]
            assert np.count_nonzero(np.abs(answers[NAME].astype(int) - answers["u2netp"]) > 8) > 100
            r = c.post("/v1/remove", files={"image": ("ring3.jpg", photo, "image/jpeg")}, data={"model": "nope"})
            assert r.status_code == 400 and NAME in r.text
    finally:
        stop(server)


def test_bad_data_and_settings_get_one_line(tmp_path):
    env = {"BACKDROP_USER_MODELS": str(tmp_path / "models")}
    data = write_mask_folder(tmp_path / "few", range(3))
    (data / "images" / "lonely.jpg").write_bytes((data / "images" / "ring0.jpg").read_bytes())
    cv2.imwrite(str(data / "masks" / "orphan.png"), np.zeros((10, 10), np.uint8))
    proc = backdrop("train", str(data), "--name", "few", *SMALL, env=env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert any("lonely" in line for line in lines) and any("orphan" in line for line in lines)
    assert lines[-1].startswith("backdrop: error: only 3 usable") and "at least 4" in lines[-1]
    assert "Traceback" not in proc.stderr

    proc = backdrop("train", str(data), "--name", "U2NETP?", env=env)
    assert proc.returncode == 2 and "--name" in proc.stderr
    proc = backdrop("train", str(data), "--name", "u2netp", env=env)
    assert proc.returncode == 2 and "Backdrop's own" in proc.stderr
    proc = backdrop("train", str(tmp_path / "nowhere"), "--name", "x", *SMALL, env=env)
    assert proc.returncode == 1 and "nowhere" in proc.stderr
    proc = backdrop("train", str(data), "--name", "x", "--size", "100", env=env)
    assert proc.returncode == 2 and "multiple of 32" in proc.stderr
    import torch

    if not torch.cuda.is_available():
        proc = backdrop("train", str(data), "--name", "x", "--device", "cuda", env=env)
        assert proc.returncode == 1 and "--device cuda" in proc.stderr and "Traceback" not in proc.stderr
    proc = backdrop("train", str(write_mask_folder(tmp_path / "more", range(5))), "--name", "x", "--resume",
                    "--run-dir", str(tmp_path / "no-run"), *SMALL, env=env)
    assert proc.returncode == 1 and "--resume" in proc.stderr and "no-run" in proc.stderr
    assert not (tmp_path / "models").exists()  # nothing installed by a refused run


def test_an_existing_model_is_kept_without_overwrite(trained):
    proc = backdrop("train", str(trained["data"]), "--name", NAME, *SMALL, env=trained["env"])
    assert proc.returncode == 2 and "--overwrite" in proc.stderr


def test_resume_goes_on_from_the_last_checkpoint(trained, tmp_path):
    run = tmp_path / "run"
    env = {**trained["env"], "BACKDROP_USER_MODELS": str(tmp_path / "models")}
    first = backdrop("train", str(trained["data"]), "--name", "resumed", "--run-dir", str(run), *SMALL,
                     "--epochs", "1", env=env)
    assert first.returncode == 0, first.stderr
    again = backdrop("train", str(trained["data"]), "--name", "resumed", "--run-dir", str(run), *SMALL,
                     "--epochs", "2", "--resume", "--overwrite", env=env)
    assert again.returncode == 0, again.stderr
    assert "epoch 1:" not in again.stderr and "epoch 2:" in again.stderr
    other = write_mask_folder(tmp_path / "other", range(20, 26))
    refused = backdrop("train", str(other), "--name", "resumed", "--run-dir", str(run), *SMALL, "--resume",
                       "--overwrite", env=env)
    assert refused.returncode == 1 and "other photos" in refused.stderr
    manifest = json.loads((tmp_path / "models" / "resumed.json").read_text())
    assert manifest["trained"]["epochs"] == [2]


def test_folds_cross_validate_then_install_a_model_of_all_photos(trained, tmp_path):
    env = {**trained["env"], "BACKDROP_USER_MODELS": str(tmp_path / "models")}
    run = tmp_path / "run"
    proc = backdrop("train", str(trained["data"]), "--name", "folded", "--folds", "2", "--run-dir", str(run),
                    *SMALL, "--epochs", "1", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "fold 1/2" in proc.stderr and "fold 2/2" in proc.stderr and "final model" in proc.stderr
    card = (run / "MODEL_CARD.md").read_text()
    assert "2-fold cross-validation" in card and " ± " in card
    split = json.loads((run / "split.json").read_text())["splits"]
    tested = sorted(name for part in split for name in part["test"])
    assert tested == sorted(f"ring{i}" for i in range(8))  # every photo tested once
    manifest = json.loads((tmp_path / "models" / "folded.json").read_text())
    assert manifest["trained"]["folds"] == 2 and len(manifest["trained"]["epochs"]) == 3


def test_a_time_limit_keeps_the_best_weights_so_far(trained, tmp_path):
    env = {**trained["env"], "BACKDROP_USER_MODELS": str(tmp_path / "models")}
    proc = backdrop("train", str(trained["data"]), "--name", "hurried", "--run-dir", str(tmp_path / "run"),
                    *SMALL, "--epochs", "500", "--time-limit", "1", env=env)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "models" / "hurried.json").read_text())
    assert manifest["trained"]["epochs"][0] < 50  # stopped long before its 500 epochs, its weights exported
    assert "ended by time limit" in (tmp_path / "run" / "MODEL_CARD.md").read_text()
