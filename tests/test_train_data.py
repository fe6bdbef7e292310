"""Training data importers: mask folders, LabelMe, COCO and CVAT turned into photo + mask
pairs whose masks match the shapes drawn (pixel for pixel where the convention fixes it,
else up to the boundary pixels), and every piece of bad data one problem line naming it."""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app.training.data import Collected, Pair, collect
from app.training.data.bitmaps import coco_counts, runs_to_bits

W, H = 160, 120
GROW = 0.5  # the painting convention (app/training/data/shapes.py): shapes come out half a pixel larger


# ---------------------------------------------------------------- helpers


def _photo(path: Path, w: int = W, h: int = H, orientation: int | None = None) -> Path:
    """A coloured gradient with noise and a block drawn on it, as JPEG or PNG by suffix."""
    rng = np.random.default_rng(len(path.name) + w * h)
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), np.full_like(xx, 90)], -1)
    rgb = np.clip(rgb + rng.integers(-20, 20, rgb.shape), 0, 255).astype(np.uint8)
    rgb[h // 4:h // 2, w // 4:w // 2] = (220, 30, 30)
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(rgb)
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        im.save(path, exif=exif.tobytes(), quality=92)
    else:
        im.save(path, **({"quality": 92} if path.suffix.lower() in (".jpg", ".jpeg") else {}))
    return path


def _png(path: Path, mask: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask).save(path)
    return path


def _disc(cx: float, cy: float, r: float, w: int = W, h: int = H) -> np.ndarray:
    """Pixels whose centre is inside the circle (the analytic truth, no OpenCV)."""
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r).astype(np.uint8) * 255


def _ring(cx: float, cy: float, outer: float, inner: float) -> np.ndarray:
    return np.where(_disc(cx, cy, inner) > 0, 0, _disc(cx, cy, outer)).astype(np.uint8)


def _convex(points: list[tuple[float, float]], grow: float = 0.0, w: int = W, h: int = H) -> np.ndarray:
    """Pixels whose centre is inside a convex polygon (listed clockwise on screen), or
    within `grow` pixels of it."""
    yy, xx = np.mgrid[0:h, 0:w]
    inside = np.ones((h, w), bool)
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]):
        inside &= ((x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0)) / math.hypot(x1 - x0, y1 - y0) >= -grow
    return inside.astype(np.uint8) * 255


def _box(x0: int, y0: int, x1: int, y1: int, w: int = W, h: int = H) -> np.ndarray:
    """The rectangle convention: corners on pixel centres, both ends included."""
    m = np.zeros((h, w), np.uint8)
    m[y0:y1 + 1, x0:x1 + 1] = 255
    return m


def assert_close(mask: np.ndarray, expected: np.ndarray, min_iou: float = 0.98) -> None:
    """IoU above `min_iou` and no pixel differs more than 1 px from the expected boundary."""
    assert mask.shape == expected.shape and mask.dtype == np.uint8
    assert set(np.unique(mask).tolist()) <= {0, 255}
    a, b = mask > 0, expected > 0
    iou = (a & b).sum() / max((a | b).sum(), 1)
    assert iou > min_iou, f"IoU {iou:.4f}"
    k = np.ones((3, 3), np.uint8)
    near = cv2.dilate(expected, k) != cv2.erode(expected, k)
    far = (a != b) & ~near
    assert not far.any(), f"{int(far.sum())} pixels differ away from the boundary"


def _problem(found: Collected, *names: object) -> str:
    """The one problem line naming all of `names`."""
    lines = [line for line in found.problems if all(str(n) in line for n in names)]
    assert len(lines) == 1, f"want one line naming {names}, got:\n" + "\n".join(found.problems)
    return lines[0]


def _by_name(found: Collected) -> dict[str, Pair]:
    return {p.image.name: p for p in found.pairs}


def _labelme(path: Path, image: str, shapes: list[dict], w: int = W, h: int = H) -> Path:
    doc = {"version": "5.4.1", "flags": {}, "imagePath": image, "imageData": None,
           "imageHeight": h, "imageWidth": w,
           "shapes": [{"label": s.get("label", "ring"), "points": s["points"], "group_id": None,
                       "description": "", "shape_type": s["type"], "flags": {}, "mask": s.get("mask")}
                      for s in shapes]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _b64_png(bits: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(bits.astype(np.uint8)).save(buf, format="PNG")  # LabelMe stores 0 and 1
    return base64.b64encode(buf.getvalue()).decode()


def _runs(flat: np.ndarray) -> list[int]:
    """Run lengths of a 0/1 sequence, 0s first (a leading 0-length run if it starts with 1)."""
    counts, current, n = [], 0, 0
    for v in flat.astype(bool).tolist():
        if v != current:
            counts.append(n)
            current, n = v, 0
        n += 1
    counts.append(n)
    return counts


def _coco_rle(mask: np.ndarray) -> list[int]:
    return _runs((mask > 0).T.reshape(-1))  # column-major


def _rle_string(counts: list[int]) -> str:
    """pycocotools' rleToString, mirrored: 5 bits a character from 48, 0x20 = more, the
    last chunk's 0x10 the sign; from the fourth count on, the difference to two before."""
    out = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


# ---------------------------------------------------------------- mask folders


def test_a_mask_folder_pairs_photos_and_masks_by_name(tmp_path):
    data = tmp_path / "rings"
    expected = _disc(80, 60, 30)
    for name in ("a", "b"):
        _photo(data / "images" / f"{name}.jpg")
        _png(data / "masks" / f"{name}.png", expected)
    found = collect([data])
    assert found.problems == []
    assert sorted(_by_name(found)) == ["a.jpg", "b.jpg"]
    pair = _by_name(found)["a.jpg"]
    assert pair.group is None and pair.source == f"mask {data / 'masks' / 'a.png'}"
    assert np.array_equal(pair.load_mask(), expected)
    assert pair.load_image().shape == (H, W, 3) and pair.load_image().dtype == np.uint8


def test_photos_at_the_top_with_a_masks_subfolder(tmp_path):
    _photo(tmp_path / "a.png")
    _png(tmp_path / "masks" / "a.png", _box(10, 10, 50, 40))
    found = collect([tmp_path])
    assert found.problems == [] and len(found.pairs) == 1
    assert np.array_equal(found.pairs[0].load_mask(), _box(10, 10, 50, 40))


def test_per_product_subfolders_are_groups(tmp_path):
    for group in ("ring-12", "ring-7"):
        _photo(tmp_path / "images" / group / "a.jpg")
        _png(tmp_path / "masks" / group / "a.png", _disc(80, 60, 20))
    _photo(tmp_path / "images" / "loose.jpg")
    _png(tmp_path / "masks" / "loose.png", _disc(80, 60, 20))
    found = collect([tmp_path])
    assert found.problems == []
    assert sorted((p.group or "") for p in found.pairs) == ["", "ring-12", "ring-7"]


def test_a_jpeg_mask_is_thresholded_to_0_and_255(tmp_path):
    _photo(tmp_path / "images" / "a.jpg")
    expected = _disc(80, 60, 35)
    (tmp_path / "masks").mkdir()
    Image.fromarray(expected).save(tmp_path / "masks" / "a.jpg", quality=60)
    raw = np.array(Image.open(tmp_path / "masks" / "a.jpg"))
    assert len(np.unique(raw)) > 2  # the JPEG itself has in-between values
    mask = collect([tmp_path]).pairs[0].load_mask()
    assert set(np.unique(mask).tolist()) == {0, 255}
    assert_close(mask, expected)


def test_label_masks_and_transparent_masks_are_read(tmp_path):
    expected = _box(20, 30, 90, 80)
    _photo(tmp_path / "images" / "ones.jpg")
    _png(tmp_path / "masks" / "ones.png", (expected > 0).astype(np.uint8))  # values 0 and 1
    _photo(tmp_path / "images" / "cutout.jpg")
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[..., :3] = 200  # bright everywhere: only the alpha says where the object is
    rgba[..., 3] = expected
    Image.fromarray(rgba, "RGBA").save(tmp_path / "masks" / "cutout.png")
    _photo(tmp_path / "images" / "dark.jpg")
    faint = np.zeros((H, W), np.uint8)
    faint[40:80, 40:80] = 1  # a JPEG of 0s and 1s is a dark mask, not a label mask
    Image.fromarray(faint).save(tmp_path / "masks" / "dark.jpg", quality=90)
    assert np.unique(np.array(Image.open(tmp_path / "masks" / "dark.jpg"))).tolist() == [0, 1]
    found = collect([tmp_path])
    assert found.problems == []
    for pair in found.pairs:
        want = np.zeros((H, W), np.uint8) if pair.image.name == "dark.jpg" else expected
        assert np.array_equal(pair.load_mask(), want), pair.image.name


def test_mask_folder_problems_are_one_line_each(tmp_path):
    _photo(tmp_path / "images" / "good.jpg")
    _png(tmp_path / "masks" / "good.png", _disc(80, 60, 20))
    _photo(tmp_path / "images" / "lonely.jpg")
    _png(tmp_path / "masks" / "orphan.png", _disc(80, 60, 20))
    _photo(tmp_path / "images" / "small.jpg")
    _png(tmp_path / "masks" / "small.png", np.zeros((60, 80), np.uint8))
    _photo(tmp_path / "images" / "broken.jpg")
    (tmp_path / "masks" / "broken.png").write_bytes(b"not a png at all")
    found = collect([tmp_path])
    assert [p.image.name for p in found.pairs] == ["good.jpg"]
    assert "photo without a mask" in _problem(found, tmp_path / "images" / "lonely.jpg")
    assert "mask without a photo" in _problem(found, tmp_path / "masks" / "orphan.png")
    line = _problem(found, tmp_path / "masks" / "small.png")
    assert "80x60" in line and f"{W}x{H}" in line
    assert "not a readable image" in _problem(found, tmp_path / "masks" / "broken.png")
    assert len(found.problems) == 4


# ---------------------------------------------------------------- LabelMe


def test_labelme_shapes_are_painted(tmp_path):
    tri = [(20.0, 100.0), (60.0, 20.0), (100.0, 100.0)]
    _photo(tmp_path / "poly.jpg")
    _labelme(tmp_path / "poly.json", "poly.jpg", [{"type": "polygon", "points": [list(p) for p in tri]}])
    _photo(tmp_path / "rect.jpg")
    _labelme(tmp_path / "rect.json", "rect.jpg", [{"type": "rectangle", "points": [[60, 50], [10, 20]]}])
    _photo(tmp_path / "circle.jpg")
    _labelme(tmp_path / "circle.json", "circle.jpg", [{"type": "circle", "points": [[80, 60], [80, 85]]}])
    _photo(tmp_path / "ring.jpg")
    _labelme(tmp_path / "ring.json", "ring.jpg", [
        {"type": "circle", "label": "Hole", "points": [[80, 60], [92, 60]]},  # listed first: still cut out
        {"type": "circle", "points": [[80, 60], [110, 60]]}])
    bits = np.zeros((30, 40), np.uint8)
    bits[5:25, 3:37] = 1
    bits[10:15, 10:20] = 0
    _photo(tmp_path / "mask.jpg")
    _labelme(tmp_path / "mask.json", "mask.jpg",
             [{"type": "mask", "points": [[50, 40], [89, 69]], "mask": _b64_png(bits)}])
    found = collect([tmp_path])
    assert found.problems == []
    pairs = _by_name(found)
    assert pairs["poly.jpg"].source == str(tmp_path / "poly.json")
    assert_close(pairs["poly.jpg"].load_mask(), _convex(tri, GROW))
    assert np.array_equal(pairs["rect.jpg"].load_mask(), _box(10, 20, 60, 50))
    assert_close(pairs["circle.jpg"].load_mask(), _disc(80, 60, 25 + GROW))
    assert_close(pairs["ring.jpg"].load_mask(), _ring(80, 60, 30 + GROW, 12 + GROW))
    want = np.zeros((H, W), np.uint8)
    want[40:70, 50:90] = bits * 255
    assert np.array_equal(pairs["mask.jpg"].load_mask(), want)


def test_labelme_subfolders_are_groups(tmp_path):
    for group in ("ring-1", "ring-2"):
        _photo(tmp_path / group / "a.jpg")
        _labelme(tmp_path / group / "a.json", "a.jpg", [{"type": "rectangle", "points": [[5, 5], [50, 50]]}])
    found = collect([tmp_path])
    assert found.problems == []
    assert sorted(p.group for p in found.pairs) == ["ring-1", "ring-2"]


def test_labelme_problems_are_one_line_each(tmp_path):
    _photo(tmp_path / "good.jpg")
    _labelme(tmp_path / "good.json", "good.jpg", [{"type": "rectangle", "points": [[5, 5], [50, 50]]}])
    _photo(tmp_path / "empty.jpg")
    _labelme(tmp_path / "empty.json", "empty.jpg", [])
    _photo(tmp_path / "lines.jpg")
    _labelme(tmp_path / "lines.json", "lines.jpg", [
        {"type": "polygon", "points": [[10, 10], [60, 10], [60, 60]]},
        {"type": "line", "points": [[0, 0], [9, 9]]}, {"type": "point", "points": [[3, 3]]}])
    _photo(tmp_path / "only_line.jpg")
    _labelme(tmp_path / "only_line.json", "only_line.jpg", [{"type": "linestrip", "points": [[0, 0], [9, 9]]}])
    _photo(tmp_path / "size.jpg")
    _labelme(tmp_path / "size.json", "size.jpg", [{"type": "rectangle", "points": [[5, 5], [50, 50]]}], w=320, h=240)
    (tmp_path / "broken.json").write_text('{"shapes": [')
    _labelme(tmp_path / "nophoto.json", "missing.jpg", [{"type": "rectangle", "points": [[5, 5], [50, 50]]}])
    _photo(tmp_path / "unannotated.jpg")
    found = collect([tmp_path])
    assert sorted(_by_name(found)) == ["good.jpg", "lines.jpg"]
    assert "empty annotation" in _problem(found, tmp_path / "empty.json")
    line = _problem(found, tmp_path / "lines.json")
    assert "line, point not used" in line and "2 shapes skipped" in line
    assert "empty annotation" in _problem(found, tmp_path / "only_line.json")
    line = _problem(found, tmp_path / "size.json")
    assert "320x240" in line and f"{W}x{H}" in line
    assert "not readable JSON" in _problem(found, tmp_path / "broken.json")
    assert "not found" in _problem(found, tmp_path / "nophoto.json")
    assert "without an annotation" in _problem(found, tmp_path / "unannotated.jpg")
    assert len(found.problems) == 7
    lines = _by_name(found)["lines.jpg"].load_mask()
    assert lines[0, 0] == 0 and lines[15, 55] == 255  # the line shape is not painted


def test_odd_values_in_a_labelme_json_are_problems_not_crashes(tmp_path):
    _photo(tmp_path / "a.jpg")
    _labelme(tmp_path / "a.json", "a.jpg", [{"type": "polygon", "points": {"x": 1}}])
    _photo(tmp_path / "b.jpg")
    doc = json.loads(_labelme(tmp_path / "b.json", "b.jpg", []).read_text())
    doc["shapes"] = [{"shape_type": ["polygon"], "points": 3}, {"shape_type": "mask", "points": [[0, 0], [9, 9]],
                                                                 "mask": "!!notbase64"}, 7]
    doc["imageWidth"] = float("inf")
    (tmp_path / "b.json").write_text(json.dumps(doc))
    _photo(tmp_path / "c.jpg")
    _labelme(tmp_path / "c.json", "c.jpg", [{"type": "polygon", "points": [[1, 1], [5, "nan"], [9, 1]]}])
    found = collect([tmp_path])
    assert found.pairs == []
    for name in ("a.json", "b.json", "c.json"):
        _problem(found, tmp_path / name)


def test_an_upright_photo_gets_a_mask_of_its_upright_size(tmp_path):
    """Stored 160x120 with EXIF orientation 6: upright 120x160, as LabelMe annotates it."""
    _photo(tmp_path / "turned.jpg", orientation=6)
    _labelme(tmp_path / "turned.json", "turned.jpg", [{"type": "rectangle", "points": [[10, 100], [50, 150]]}],
             w=H, h=W)
    found = collect([tmp_path])
    assert found.problems == []
    pair = found.pairs[0]
    assert pair.load_image().shape == (W, H, 3)
    assert np.array_equal(pair.load_mask(), _box(10, 100, 50, 150, w=H, h=W))


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_a_shrunk_mask_is_the_shrunk_photos_size(tmp_path, suffix):
    """100x61 at max side 50: a JPEG decodes at half size (50x31), a PNG is scaled (50x30)."""
    _photo(tmp_path / f"odd{suffix}", w=100, h=61)
    _labelme(tmp_path / "odd.json", f"odd{suffix}", [{"type": "rectangle", "points": [[0, 0], [49, 60]]}],
             w=100, h=61)
    pair = collect([tmp_path]).pairs[0]
    image, mask = pair.load_image(50), pair.load_mask(50)
    assert image.shape[:2] == mask.shape == ((31, 50) if suffix == ".jpg" else (30, 50))
    assert set(np.unique(mask).tolist()) == {0, 255}
    assert mask[:, :20].all() and not mask[:, 30:].any()
    image2, mask2 = pair.load(50)
    assert np.array_equal(image2, image) and np.array_equal(mask2, mask)
    assert pair.load_mask(1000).shape == (61, 100)


# ---------------------------------------------------------------- COCO


def _coco(path: Path, images: list[dict], annotations: list[dict], categories: list[dict] | None = None) -> Path:
    cats = categories or [{"id": 1, "name": "ring"}, {"id": 2, "name": "hole"}]
    for i, ann in enumerate(annotations, 1):
        ann.setdefault("id", i)
        ann.setdefault("category_id", 1)
        ann.setdefault("iscrowd", 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": cats}))
    return path


def test_compressed_rle_strings_decode_as_pycocotools_does():
    # worked by hand: 3 "3", 2 "2", 5 "5"; then 1 - 2 = -1: 31 with the sign bit, "O"
    assert coco_counts("325O") == [3, 2, 5, 1]
    # 100 = 3 * 32 + 4: "T" (4 | 0x20 more) then "3"; 2 - 5 = -3: 29 with the sign bit, "M"
    assert coco_counts("05T3M") == [0, 5, 100, 2]
    assert coco_counts("V2X1") == [70, 40]
    for counts in ([3, 2, 5, 1], [0, 5, 100, 2], [70, 40], [0, 1000, 3, 70000, 2, 1, 65]):
        assert coco_counts(_rle_string(counts)) == counts
    assert _rle_string([0, 5, 100, 2]) == "05T3M"
    bits = runs_to_bits([1, 2, 3], 2, 3, column_major=True)  # down the columns: 0 | 1 1 | 0 0 0
    assert bits.tolist() == [[False, True, False], [True, False, False]]
    with pytest.raises(ValueError):
        runs_to_bits([1, 2], 2, 3, column_major=True)
    with pytest.raises(ValueError):
        coco_counts("3 2")


def test_coco_polygons_and_rles_are_painted(tmp_path):
    ring = _ring(80, 60, 30 + GROW, 12 + GROW)
    blob = np.zeros((H, W), np.uint8)
    blob[30:90, 40:70] = 255
    blob[50:60, 100:150] = 255
    blob[0, 0] = blob[-1, -1] = 255  # runs at both ends of the picture
    _photo(tmp_path / "images" / "poly.jpg")
    _photo(tmp_path / "images" / "ring.jpg")
    _photo(tmp_path / "plain.jpg")
    _photo(tmp_path / "images" / "packed.jpg")
    images = [{"id": 1, "file_name": "poly.jpg", "width": W, "height": H},
              {"id": 2, "file_name": "ring.jpg", "width": W, "height": H},
              {"id": 3, "file_name": "plain.jpg", "width": W, "height": H},
              {"id": 4, "file_name": "packed.jpg", "width": W, "height": H}]
    ring_outer = [v for t in np.linspace(0, 2 * math.pi, 200, endpoint=False)
                  for v in (80 + 30 * math.cos(t), 60 + 30 * math.sin(t))]
    ring_inner = [v for t in np.linspace(0, 2 * math.pi, 100, endpoint=False)
                  for v in (80 + 12 * math.cos(t), 60 + 12 * math.sin(t))]
    anns = [{"image_id": 1, "segmentation": [[10, 10, 60, 10, 60, 40, 10, 40], [100, 70, 140, 70, 140, 110, 100, 110]]},
            {"image_id": 2, "segmentation": [ring_outer]},
            {"image_id": 2, "segmentation": [ring_inner], "category_id": 2},
            {"image_id": 3, "segmentation": {"counts": _coco_rle(blob), "size": [H, W]}, "iscrowd": 1},
            {"image_id": 4, "segmentation": {"counts": _rle_string(_coco_rle(blob)), "size": [H, W]}}]
    found = collect([_coco(tmp_path / "instances.json", images, anns)])
    assert found.problems == []
    pairs = _by_name(found)
    assert np.array_equal(pairs["poly.jpg"].load_mask(), np.maximum(_box(10, 10, 60, 40), _box(100, 70, 140, 110)))
    assert_close(pairs["ring.jpg"].load_mask(), ring)
    assert np.array_equal(pairs["plain.jpg"].load_mask(), blob)
    assert np.array_equal(pairs["packed.jpg"].load_mask(), blob)
    assert pairs["packed.jpg"].source == str(tmp_path / "instances.json")


def test_coco_problems_are_one_line_each(tmp_path):
    for name in ("good", "bare", "big", "boxonly"):
        _photo(tmp_path / f"{name}.jpg")
    images = [{"id": 1, "file_name": "good.jpg", "width": W, "height": H},
              {"id": 2, "file_name": "bare.jpg", "width": W, "height": H},
              {"id": 3, "file_name": "big.jpg", "width": 640, "height": 480},
              {"id": 4, "file_name": "boxonly.jpg", "width": W, "height": H},
              {"id": 5, "file_name": "gone.jpg", "width": W, "height": H}]
    square = [10, 10, 50, 10, 50, 50, 10, 50]
    anns = [{"image_id": 1, "segmentation": [square]}, {"image_id": 3, "segmentation": [square]},
            {"image_id": 4, "segmentation": [], "bbox": [1, 1, 5, 5]}, {"image_id": 5, "segmentation": [square]},
            {"image_id": 99, "segmentation": [square]}]
    coco = _coco(tmp_path / "coco.json", images, anns)
    found = collect([coco])
    assert [p.image.name for p in found.pairs] == ["good.jpg"]
    assert "no annotation" in _problem(found, coco, "bare.jpg")
    line = _problem(found, coco, "big.jpg")
    assert "640x480" in line and f"{W}x{H}" in line
    assert "no segmentation" in _problem(found, coco, "boxonly.jpg")
    assert "not found" in _problem(found, coco, "gone.jpg")
    assert "image_id 99" in _problem(found, coco, "no listed image")
    assert len(found.problems) == 5


# ---------------------------------------------------------------- CVAT


def _cvat(path: Path, images: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n'
                    f'<meta><task><name>rings</name></task></meta>\n{images}\n</annotations>\n')
    return path


def test_cvat_shapes_are_painted_in_z_order(tmp_path):
    bits = np.zeros((20, 30), np.uint8)
    bits[2:18, 5:25] = 1
    bits[8:12, :] = 0
    rle = ", ".join(str(c) for c in _runs(bits.reshape(-1)))  # row-major over the box
    for name in ("layers.jpg", "poly.jpg", "mask.jpg", "turned.jpg", "tilted.jpg", "oval.jpg"):
        _photo(tmp_path / "images" / name)
    xml = _cvat(tmp_path / "annotations.xml", f"""
<image id="0" name="layers.jpg" width="{W}" height="{H}">
  <box label="hole" source="manual" occluded="0" xtl="30" ytl="30" xbr="70" ybr="70" z_order="1"/>
  <box label="ring" source="manual" occluded="0" xtl="10" ytl="10" xbr="100" ybr="90" z_order="0"/>
  <box label="ring" source="manual" occluded="0" xtl="40" ytl="40" xbr="50" ybr="50" z_order="2"/>
  <box label="ring" source="manual" occluded="0" xtl="120" ytl="10" xbr="150" ybr="40" z_order="3"/>
  <box label="background" source="manual" occluded="0" xtl="130" ytl="20" xbr="140" ybr="30" z_order="3"/>
  <tag label="shiny" source="manual"/>
</image>
<image id="1" name="poly.jpg" width="{W}" height="{H}">
  <polygon label="ring" source="manual" occluded="0" points="20.0,100.0;60.0,20.0;100.0,100.0" z_order="0"/>
</image>
<image id="2" name="mask.jpg" width="{W}" height="{H}">
  <mask label="ring" source="manual" occluded="0" rle="{rle}" left="60" top="50" width="30" height="20" z_order="0"/>
</image>
<image id="3" name="turned.jpg" width="{W}" height="{H}">
  <box label="ring" source="manual" occluded="0" xtl="60" ytl="40" xbr="100" ybr="80" rotation="45" z_order="0"/>
</image>
<image id="4" name="tilted.jpg" width="{W}" height="{H}">
  <box label="ring" source="manual" occluded="0" xtl="40" ytl="55" xbr="120" ybr="65" rotation="30" z_order="0"/>
</image>
<image id="5" name="oval.jpg" width="{W}" height="{H}">
  <ellipse label="ring" source="manual" occluded="0" cx="80" cy="60" rx="40" ry="20" rotation="90" z_order="0"/>
</image>""")
    found = collect([xml])
    assert found.problems == []
    pairs = _by_name(found)
    want = _box(10, 10, 100, 90)
    want[_box(30, 30, 70, 70) > 0] = 0  # the later hole paints over the object
    want[_box(40, 40, 50, 50) > 0] = 255  # and a later object over the hole
    want |= _box(120, 10, 150, 40)
    want[_box(130, 20, 140, 30) > 0] = 0  # same z_order: file order, the background last
    assert np.array_equal(pairs["layers.jpg"].load_mask(), want)
    assert_close(pairs["poly.jpg"].load_mask(), _convex([(20.0, 100.0), (60.0, 20.0), (100.0, 100.0)], GROW))
    expected = np.zeros((H, W), np.uint8)
    expected[50:70, 60:90] = bits * 255
    assert np.array_equal(pairs["mask.jpg"].load_mask(), expected)
    d = 20 * math.sqrt(2)  # a square of side 40 turned 45 degrees: a diamond about (80, 60)
    assert_close(pairs["turned.jpg"].load_mask(), _convex([(80, 60 - d), (80 + d, 60), (80, 60 + d), (80 - d, 60)], GROW))
    tilted = pairs["tilted.jpg"].load_mask()  # clockwise on screen: the right end goes down
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    assert tilted[round(60 + 35 * s), round(80 + 35 * c)] == 255 and tilted[round(60 - 35 * s), round(80 + 35 * c)] == 0
    assert tilted[round(60 - 35 * s), round(80 - 35 * c)] == 255
    yy, xx = np.mgrid[0:H, 0:W]  # turned 90 degrees: 20 across, 40 down
    oval = (((xx - 80) / (20 + GROW)) ** 2 + ((yy - 60) / (40 + GROW)) ** 2 <= 1).astype(np.uint8) * 255
    assert_close(pairs["oval.jpg"].load_mask(), oval)


def test_cvat_problems_are_one_line_each(tmp_path):
    for name in ("good", "lines", "size", "bare", "holes"):
        _photo(tmp_path / f"{name}.jpg")
    box = '<box label="ring" xtl="10" ytl="10" xbr="50" ybr="50" z_order="0"/>'
    xml = _cvat(tmp_path / "task.xml", f"""
<image id="0" name="good.jpg" width="{W}" height="{H}">{box}</image>
<image id="1" name="lines.jpg" width="{W}" height="{H}">{box}
  <polyline label="ring" points="1,1;5,5" z_order="0"/><points label="ring" points="3,3" z_order="0"/></image>
<image id="2" name="size.jpg" width="640" height="480">{box}</image>
<image id="3" name="bare.jpg" width="{W}" height="{H}"></image>
<image id="4" name="holes.jpg" width="{W}" height="{H}"><box label="hole" xtl="1" ytl="1" xbr="9" ybr="9"/></image>
<image id="5" name="gone.jpg" width="{W}" height="{H}">{box}</image>""")
    (tmp_path / "other").mkdir()
    broken = tmp_path / "other" / "broken.xml"
    broken.write_text("<annotations><image name='a.jpg'></annotations")
    found = collect([xml, broken])
    assert sorted(_by_name(found)) == ["good.jpg", "lines.jpg"]
    assert "points, polyline not used" in _problem(found, xml, "lines.jpg")
    line = _problem(found, xml, "size.jpg")
    assert "640x480" in line and f"{W}x{H}" in line
    assert "no annotation" in _problem(found, xml, "bare.jpg")
    assert "empty annotation" in _problem(found, xml, "holes.jpg")
    assert "not found" in _problem(found, xml, "gone.jpg")
    assert "not readable XML" in _problem(found, broken)
    assert len(found.problems) == 6


# ---------------------------------------------------------------- combining, not data


def test_two_data_arguments_are_combined(tmp_path):
    masks = tmp_path / "masks_data"
    _photo(masks / "images" / "m.jpg")
    _png(masks / "masks" / "m.png", _disc(80, 60, 20))
    _photo(masks / "images" / "nomask.jpg")
    export = tmp_path / "export"
    _photo(export / "images" / "c.jpg")
    _coco(export / "annotations" / "instances_default.json", [{"id": 1, "file_name": "c.jpg", "width": W, "height": H}],
          [{"image_id": 1, "segmentation": [[10, 10, 50, 10, 50, 50]]}])
    found = collect([masks, export])
    assert [p.image.name for p in found.pairs] == ["m.jpg", "c.jpg"]
    assert "photo without a mask" in _problem(found, masks / "images" / "nomask.jpg")
    assert len(found.problems) == 1


def test_a_photo_given_twice_is_used_once(tmp_path):
    _photo(tmp_path / "images" / "a.jpg")
    _png(tmp_path / "masks" / "a.png", _disc(80, 60, 20))
    found = collect([tmp_path, tmp_path])
    assert len(found.pairs) == 1
    assert "annotated twice" in _problem(found, tmp_path / "images" / "a.jpg")


def test_paths_that_are_not_data_are_named(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    photos = tmp_path / "just_photos"
    _photo(photos / "a.jpg")
    other_json = tmp_path / "package.json"
    other_json.write_text('{"name": "x"}')
    missing = tmp_path / "missing"
    good = tmp_path / "good"
    _photo(good / "images" / "a.jpg")
    _png(good / "masks" / "a.png", _disc(80, 60, 20))
    found = collect([notes, photos, other_json, missing, good])
    assert len(found.pairs) == 1
    assert "not a mask folder, LabelMe folder, COCO JSON or CVAT XML" in _problem(found, notes)
    assert "not a mask folder, LabelMe folder, COCO JSON or CVAT XML" in _problem(found, photos)
    assert "neither COCO" in _problem(found, other_json)
    assert "no such file or folder" in _problem(found, missing)
    assert len(found.problems) == 4


def test_pairs_hold_paths_and_shapes_not_pixels(tmp_path):
    _photo(tmp_path / "a.jpg")
    _labelme(tmp_path / "a.json", "a.jpg", [{"type": "circle", "points": [[80, 60], [80, 85]]}])
    pair = collect([tmp_path]).pairs[0]
    hash(pair)  # frozen, and every field hashable
    assert not any(isinstance(v, np.ndarray) for v in vars(pair).values())
    assert all(not isinstance(v, np.ndarray) for s in pair.shapes for v in vars(s).values())


def test_annotation_file_names_with_a_subfolder_are_groups(tmp_path):
    _photo(tmp_path / "images" / "ring-12" / "a.jpg")
    _photo(tmp_path / "images" / "b.jpg")
    coco = _coco(tmp_path / "coco.json", [{"id": 1, "file_name": "ring-12/a.jpg", "width": W, "height": H},
                                          {"id": 2, "file_name": "b.jpg", "width": W, "height": H}],
                 [{"image_id": 1, "segmentation": [[10, 10, 50, 10, 50, 50]]},
                  {"image_id": 2, "segmentation": [[10, 10, 50, 10, 50, 50]]}])
    xml = _cvat(tmp_path / "cvat" / "annotations.xml", f"""
<image id="0" name="ring-12/a.jpg" width="{W}" height="{H}"><box label="ring" xtl="1" ytl="1" xbr="9" ybr="9"/></image>""")
    _photo(tmp_path / "cvat" / "images" / "ring-12" / "a.jpg")
    found = collect([coco, xml])
    assert found.problems == []
    assert [(p.image.relative_to(tmp_path).as_posix(), p.group) for p in found.pairs] == [
        ("images/ring-12/a.jpg", "ring-12"), ("images/b.jpg", None), ("cvat/images/ring-12/a.jpg", "ring-12")]


def test_single_labelme_file_and_cvat_video_export(tmp_path):
    _photo(tmp_path / "a.jpg")
    one = _labelme(tmp_path / "a.json", "a.jpg", [{"type": "rectangle", "points": [[5, 5], [50, 50]]}])
    video = _cvat(tmp_path / "video.xml", '<track id="0" label="ring"><box frame="0" xtl="1" ytl="1" xbr="9" ybr="9"'
                                          ' outside="0" occluded="0" keyframe="1" z_order="0"/></track>')
    found = collect([one, video])
    assert [p.image.name for p in found.pairs] == ["a.jpg"] and found.pairs[0].group is None
    assert "CVAT for images 1.1" in _problem(found, video)
    assert len(found.problems) == 1
