"""The review page: opens from disk in a real headless browser (Debian's chromium), lists
every photo once, flagged ones first (least confident first), then failed, then ok; its
thumbnails are small, load from relative links, and show the cut-out on white."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.engine.files.review import (
    THUMB_SIDE,
    ReviewEntry,
    find_thumbnails,
    prepare_review,
    review_order,
    write_review,
    write_thumbnails,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RED = (210, 30, 30)


class _Entries(HTMLParser):
    """The (status, confidence, name) of each <article> of a dumped DOM, in page order, and
    every <img> src."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[list] = []
        self.images: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "article":
            self.entries.append([attrs["data-status"], float(attrs["data-confidence"]), ""])
        elif tag == "img":
            self.images.append(attrs["src"])
        elif tag == "h3" and self.entries:
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "h3":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.entries[-1][2] += data


def _photo(seed: int, size=(480, 360)) -> tuple[np.ndarray, np.ndarray]:
    """A textured room with a red disc: the RGB and the disc's alpha."""
    w, h = size
    rng = np.random.default_rng(seed)
    rgb = cv2.GaussianBlur(rng.integers(40, 200, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    alpha = np.zeros((h, w), np.uint8)
    cv2.circle(alpha, (w // 2, h // 2), min(w, h) // 3, 255, -1, cv2.LINE_AA)
    rgb[alpha > 0] = RED
    return rgb, alpha


def _batch(tmp_path: Path) -> tuple[Path, list[ReviewEntry]]:
    review = tmp_path / "review"
    prepare_review(review)
    entries = []
    plan = [("ok", 0.97, ""), ("flagged", 0.40, "uncertain matte (12% of the picture undecided)"),
            ("ok", 0.88, ""), ("failed", 0.0, "not a readable image (corrupt or unsupported format)"),
            ("flagged", 0.15, "no subject found"), ("ok", 0.93, "")]
    for i, (status, confidence, note) in enumerate(plan):
        source = tmp_path / "in" / f"photo {i} & co.jpg"  # spaces and '&' in names
        output = tmp_path / "out" / f"photo {i} & co.png"
        thumbs = None
        if status != "failed":
            rgb, alpha = _photo(i, (480, 360) if i % 2 else (300, 500))
            thumbs = write_thumbnails(review, output.stem, rgb, rgb, alpha)
        entries.append(ReviewEntry(source, None if status == "failed" else output, status, confidence, note,
                                   "object", thumbs))
    write_review(review, entries)
    return review, entries


def test_thumbnails_are_small_and_the_order_is_flagged_failed_ok(tmp_path):
    review, entries = _batch(tmp_path)
    thumbs = sorted((review / "thumbs").iterdir())
    assert len(thumbs) == 10 and not [p for p in review.rglob(".*")]  # no temporary names left
    for path in thumbs:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert max(image.shape[:2]) == THUMB_SIDE
        assert path.stat().st_size < 30_000
        if path.suffix == ".webp":
            assert image.shape[2] == 4 and image[0, 0, 3] == 0 and image[100, image.shape[1] // 2, 3] == 255
    order = [(e.status, e.confidence) for e in review_order(entries)]
    assert order == [("flagged", 0.15), ("flagged", 0.40), ("failed", 0.0),
                     ("ok", 0.88), ("ok", 0.93), ("ok", 0.97)]


def _chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={cwd / 'chromium-profile'}", *args],
                          capture_output=True, text=True, timeout=90, cwd=cwd)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt install chromium)")
@pytest.mark.slow
def test_the_page_loads_in_headless_chromium_with_flagged_first(tmp_path):
    review, entries = _batch(tmp_path)
    url = (review / "index.html").as_uri()
    dom = _chromium("--dump-dom", url, cwd=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = _Entries()
    parsed.feed(dom.stdout)
    assert len(parsed.entries) == len(entries)
    statuses = [status for status, _, _ in parsed.entries]
    assert statuses == ["flagged", "flagged", "failed", "ok", "ok", "ok"]
    assert [c for _, c, _ in parsed.entries[:2]] == [0.15, 0.40]
    assert parsed.entries[0][2] == "photo 4 & co.jpg"
    assert "5 flagged" not in dom.stdout and "2 flagged" in dom.stdout and "1 failed" in dom.stdout
    assert len(parsed.images) == 5 * 3  # original, checkerboard, white for each cut-out
    for src in parsed.images:  # relative links that resolve on disk
        assert not src.startswith(("/", "http", "file:")) and (review / src).is_file(), src

    shot = tmp_path / "review.png"
    result = _chromium(f"--screenshot={shot}", "--window-size=1200,900", "--hide-scrollbars", url, cwd=tmp_path)
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    picture = cv2.cvtColor(cv2.imread(str(shot)), cv2.COLOR_BGR2RGB)
    red = np.all(np.abs(picture.astype(int) - RED) < 40, axis=2)
    assert red.sum() > 3 * 3000  # the thumbnails were loaded and drawn, not broken-image icons


def test_thumbnails_written_elsewhere_are_found_by_name(tmp_path):
    rgb, alpha = _photo(1)
    written = write_thumbnails(tmp_path, "shoe 1", rgb, rgb, alpha)
    assert find_thumbnails(tmp_path, "shoe 1") == written
    assert find_thumbnails(tmp_path, "shoe 2") is None
    only = write_thumbnails(tmp_path, "broken", rgb)  # read, but not cut out
    assert only.cutout is None and find_thumbnails(tmp_path, "broken") == only
