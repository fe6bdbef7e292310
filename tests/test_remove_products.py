"""`backdrop remove` on product photos, end to end: the subject decided per photo, objects
cut out on exact white, catalogue layout, the input's transparency kept, files not read
listed, and the review page of the batch."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from support import media
from support.media import read_image, run_cli

from app.engine.sources.demo import demo_photo_path

SIZE = (320, 240)


def product_photo(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A red-orange bottle-like shape on a textured, cluttered background, and its mask."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    noise = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    image = cv2.GaussianBlur(cv2.resize(noise, SIZE, interpolation=cv2.INTER_CUBIC), (0, 0), 3)
    image = cv2.addWeighted(image, 0.5, np.full_like(image, (90, 140, 90)), 0.5, 0)
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, int(h * 0.62)), (w // 7, h // 4), 0, 0, 360, 255, -1)
    cv2.rectangle(mask, (w // 2 - w // 22, int(h * 0.2)), (w // 2 + w // 22, int(h * 0.45)), 255, -1)
    image[mask > 0] = (200, 60, 30)
    shade = np.linspace(0.8, 1.1, w, dtype=np.float32)[None, :, None]
    image = np.clip(image.astype(np.float32) * np.where(mask[..., None] > 0, shade, 1.0), 0, 255).astype(np.uint8)
    return image, mask


def iou(alpha: np.ndarray, mask: np.ndarray) -> float:
    a, m = alpha > 127, mask > 127
    return float((a & m).sum()) / max(1, int((a | m).sum()))


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    folder = tmp_path_factory.mktemp("shop") / "photos"
    folder.mkdir()
    masks = {}
    for i in range(2):
        image, mask = product_photo(i)
        media.write_image(folder / f"bottle{i}.png", image)
        masks[f"bottle{i}"] = mask
    media.write_image(folder / "person.png", read_image(demo_photo_path()))
    (folder / "notes.txt").write_text("not a photo")
    (folder / "anim.gif").write_bytes(b"GIF89a" + bytes(20))
    return folder, masks


def report_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as fh:
        return {Path(row["source"]).stem: row for row in csv.DictReader(fh)}


@pytest.mark.slow
def test_auto_cuts_out_objects_and_people_on_exact_white_and_lists_files_not_read(shop, tmp_path):
    folder, masks = shop
    out, report = tmp_path / "out", tmp_path / "report.csv"
    result = run_cli("remove", folder, "-o", out, "-b", "white", "--report", report, "--edges", "fast", "-j", "1",
                     timeout=300)
    assert result.rc == 0, result.stderr
    for name in ("notes.txt", "anim.gif"):
        assert any(name in line and "not read" in line for line in result.stderr.splitlines()), result.stderr
    rows = report_rows(report)
    assert rows["person"]["subject"] == "person"
    for stem, mask in masks.items():
        assert rows[stem]["subject"] == "object", rows[stem]
        img = read_image(out / f"{stem}.png")
        off_subject = cv2.dilate(mask, np.ones((15, 15), np.uint8)) == 0
        assert (img[off_subject] == 255).all(), "exactly white off the subject"
        not_white = (img.astype(int).sum(axis=2) < 3 * 250).astype(np.uint8) * 255
        assert iou(not_white, mask) > 0.85


def test_catalogue_layout_puts_the_subject_in_the_canvas_less_the_margin(shop, tmp_path):
    folder, masks = shop
    out = tmp_path / "out"
    result = run_cli("remove", folder / "bottle0.png", "-o", out, "-b", "white", "--subject", "object",
                     "--canvas", "400x400", "--margin", "10", "--align", "bottom", "--edges", "fast", timeout=120)
    assert result.rc == 0, result.stderr
    img = read_image(out / "bottle0.png")
    assert img.shape == (400, 400, 3)
    ys, xs = np.nonzero(img.astype(int).sum(axis=2) < 3 * 240)
    assert ys.max() == pytest.approx(400 - 40 - 1, abs=3), "the subject stands on the bottom margin"
    assert ys.min() >= 40 - 3 and xs.min() >= 40 - 3 and xs.max() <= 400 - 40 + 2
    assert ys.max() - ys.min() >= 320 - 6 or xs.max() - xs.min() >= 320 - 6, "scaled to fill the canvas"


def test_the_input_alpha_stays_transparent(tmp_path):
    image, mask = product_photo(3)
    rgba = np.dstack([image, np.full(mask.shape, 255, np.uint8)])
    rgba[:, : SIZE[0] // 4, 3] = 0  # the file's own transparent strip
    src = media.write_image(tmp_path / "cut.png", rgba)
    out = tmp_path / "out"
    result = run_cli("remove", src, "-o", out, "--subject", "object", "--edges", "fast", timeout=120)
    assert result.rc == 0, result.stderr
    alpha = read_image(out / "cut.png")[..., 3]
    assert alpha[:, : SIZE[0] // 4].max() == 0


@pytest.mark.slow
def test_the_review_page_lists_every_photo_and_opens_in_a_browser(shop, tmp_path):
    folder, _ = shop
    review = tmp_path / "review"
    result = run_cli("remove", folder, "-o", tmp_path / "out", "--review", review, "--edges", "fast", timeout=300)
    assert result.rc == 0, result.stderr
    page = (review / "index.html").read_text()
    assert page.count("<article") == 3
    for stem in ("bottle0", "bottle1", "person"):
        assert f"{stem}" in page
