"""`backdrop remove`: a batch of photos, with bad files reported and the rest done."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
from support import media
import numpy as np
import pytest
from support.media import leftovers, read_image, run_cli

from app.engine.sources.demo import demo_photo_path


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """big.png (the portrait, 512x600), small.jpg (256x300), broken.jpg, empty.png (no person)."""
    folder = tmp_path_factory.mktemp("remove") / "photos"
    folder.mkdir()
    photo = read_image(demo_photo_path())
    media.write_image(folder / "big.png", photo)
    media.write_image(folder / "small.jpg", cv2.resize(photo, (256, 300), interpolation=cv2.INTER_AREA))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00 cut off here")
    media.write_image(folder / "empty.png", media.gradient((320, 240)))
    return folder


def read_report(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as fh:
        return {Path(row["source"]).name: row for row in csv.DictReader(fh)}


@pytest.mark.slow
def test_batch_goes_on_past_a_bad_file_and_reports_it(photos, tmp_path):
    out, report = tmp_path / "out", tmp_path / "report.csv"
    result = run_cli("remove", photos, "-o", out, "--report", report, "--jobs", "1")
    assert result.rc == 1, result.stderr
    errors = result.error_lines
    assert len(errors) == 1 and str(photos / "broken.jpg") in errors[0], result.stderr
    assert "2 done, 1 flagged for review, 1 failed" in result.stderr
    assert "empty.png" in result.stderr.split("failed", 1)[1], "the flagged image is listed for review"

    assert sorted(p.name for p in out.iterdir()) == ["big.png", "empty.png", "small.png"]
    for name, size in (("big.png", (512, 600)), ("small.png", (256, 300))):
        img = read_image(out / name)
        w, h = size
        assert img.shape == (h, w, 4), name
        alpha = img[..., 3]
        assert alpha[h // 2, w // 2] > 240, "the person is opaque"
        assert alpha[: h // 8, : w // 10].max() < 20, "the flag behind is transparent"

    rows = read_report(report)
    assert sorted(rows) == ["big.png", "broken.jpg", "empty.png", "small.jpg"]
    assert rows["big.png"]["status"] == rows["small.jpg"]["status"] == "ok"
    assert Path(rows["small.jpg"]["output"]).name == "small.png"
    assert float(rows["big.png"]["confidence"]) > 0.5
    assert rows["big.png"]["subject"] == "person"
    assert 0.2 < float(rows["big.png"]["subject_share"]) < 0.9
    assert rows["empty.png"]["status"] == "flagged" and "nothing found" in rows["empty.png"]["note"]
    assert rows["broken.jpg"]["status"] == "failed" and rows["broken.jpg"]["output"] == ""
    assert "broken.jpg" in rows["broken.jpg"]["note"]
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_white_background_as_jpeg(photos, tmp_path):
    out = tmp_path / "out"
    result = run_cli("remove", photos / "big.png", photos / "small.jpg", "-o", out,
                     "--background", "white", "--format", "jpg", "-j", "1")
    assert result.rc == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["big.jpg", "small.jpg"]
    img = read_image(out / "big.jpg")
    assert img.shape == (600, 512, 3)
    assert img[:60, :50].min() > 235, "the background is white"
    assert img[300, 256].max() < 235, "the person is kept"


def test_jpeg_cannot_be_transparent(photos, tmp_path):
    out = tmp_path / "out"
    result = run_cli("remove", photos / "big.png", "-o", out, "--format", "jpg")
    assert result.rc == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("backdrop: error:") and "jpg" in lines[0]
    assert not out.exists()


@pytest.mark.slow
def test_two_jobs_give_the_same_results(photos, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    args = (photos / "big.png", photos / "small.jpg", photos / "broken.jpg")
    r1 = run_cli("remove", *args, "-o", one, "-j", "1")
    r2 = run_cli("remove", *args, "-o", two, "-j", "2")
    assert r1.rc == r2.rc == 1
    assert "2 done, 0 flagged for review, 1 failed" in r2.stderr
    assert any("broken.jpg" in ln for ln in r2.error_lines)
    for name in ("big.png", "small.png"):
        a, b = read_image(one / name), read_image(two / name)
        assert a.shape == b.shape
        assert np.abs(a.astype(int) - b).max() <= 1


@pytest.mark.slow
def test_repeated_stems_get_distinct_names(photos, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    media.write_image(other / "big.jpg", media.portrait((160, 120)))
    out = tmp_path / "out"
    result = run_cli("remove", photos / "big.png", other / "big.jpg", "-o", out, "-j", "1")
    assert result.rc == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["big-1.png", "big.png"]
    assert read_image(out / "big-1.png").shape == (120, 160, 4)


@pytest.mark.slow
def test_missing_and_unsupported_inputs_are_reported_and_the_rest_done(photos, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    missing = tmp_path / "missing.png"
    out = tmp_path / "out"
    result = run_cli("remove", missing, notes, photos / "small.jpg", "-o", out, "-j", "1")
    assert result.rc == 1
    assert any(str(missing) in ln and "no such file" in ln for ln in result.error_lines), result.stderr
    assert any(str(notes) in ln for ln in result.error_lines), result.stderr
    assert "1 done, 0 flagged for review, 2 failed" in result.stderr
    assert [p.name for p in out.iterdir()] == ["small.png"]


@pytest.mark.slow
def test_existing_results_are_kept_without_overwrite(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "big.png").write_bytes(b"an earlier result")
    result = run_cli("remove", photos / "big.png", photos / "small.jpg", "-o", out, "-j", "1")
    assert result.rc == 1
    assert any(str(out / "big.png") in ln and "--overwrite" in ln for ln in result.error_lines), result.stderr
    assert (out / "big.png").read_bytes() == b"an earlier result"
    assert read_image(out / "small.png").shape == (300, 256, 4)

    result = run_cli("remove", photos / "big.png", "-o", out, "--overwrite", "-j", "1")
    assert result.rc == 0, result.stderr
    assert read_image(out / "big.png").shape == (600, 512, 4)
    assert leftovers(tmp_path) == []


def test_output_onto_the_input_is_refused(tmp_path):
    folder = tmp_path / "shop"
    folder.mkdir()
    src = media.write_image(folder / "model.png", media.portrait((160, 120)))
    before = src.read_bytes()
    result = run_cli("remove", src, "-o", folder, "--overwrite", "-j", "1")
    assert result.rc == 1
    assert any(str(src) in ln and "same" in ln for ln in result.error_lines), result.stderr
    assert src.read_bytes() == before
    assert leftovers(tmp_path) == []


# -- messages, and what a failed run leaves ------------------------------------------------
def test_a_bad_model_is_one_error_and_leaves_no_output_folder(photos, tmp_path):
    out = tmp_path / "new" / "out"
    result = run_cli("remove", photos / "big.png", photos / "small.jpg", "-o", out, "--model", "fake",
                     "--jobs", "2")
    assert result.rc != 0
    assert len(result.error_lines) == 1 and "fake" in result.error_lines[0], result.stderr
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("inputs", [["broken.jpg"], ["missing.png"]], ids=["all-fail", "no-images"])
def test_a_failed_run_leaves_no_empty_output_folder_it_made(photos, tmp_path, inputs):
    out = tmp_path / "out"
    result = run_cli("remove", *[photos / name for name in inputs], "-o", out, "--jobs", "1")
    assert result.rc == 1, result.stderr
    assert not out.exists()


def test_an_existing_output_folder_stays_after_a_failed_run(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("remove", photos / "broken.jpg", "-o", out, "--jobs", "1")
    assert result.rc == 1 and out.is_dir()


@pytest.mark.slow
def test_process_to_a_folder_of_frames_says_once_that_the_audio_is_not_kept(clip, tmp_path):
    result = run_cli("process", clip, tmp_path / "frames")
    assert result.rc == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "audio" in line]
    assert len(lines) == 1 and str(tmp_path / "frames") in lines[0], result.stderr
    assert leftovers(tmp_path) == []
