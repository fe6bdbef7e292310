"""The review page of a batch: one HTML file (`index.html`) and small thumbnails in a folder,
to find the few bad cut-outs among hundreds. Per photo: the original, the cut-out on a
checkerboard and on white, its confidence, subject and flag reason; flagged photos first
(least confident first), then failed ones, then the rest (least confident first).

The page needs no server, no network and no JavaScript: links are relative, the styles are
inline, the checkerboard is CSS behind a transparent WebP thumbnail. Thumbnails (long side
`THUMB_SIDE`) are written one photo at a time (`write_thumbnails`, safe to call from worker
processes) and the page at the end (`write_review`), each via a temporary name."""

from __future__ import annotations

import hashlib
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np

from app.engine.core.errors import OutputError
from app.engine.files.layout import resize_cutout
from app.engine.imaging.images import write_file, write_reason
from app.engine.outputs.atomic import commit, discard, partial_path

THUMB_SIDE = 200
THUMBS = "thumbs"  # the thumbnails' folder, inside the review folder
STATUSES = ("flagged", "failed", "ok")  # the page's order
INDEX = "index.html"


@dataclass(frozen=True)
class Thumbs:
    """One photo's thumbnails, as paths relative to the review folder, and their size (w, h).
    `cutout` (WebP with alpha) is None when there was no cut-out."""

    original: str
    cutout: str | None
    size: tuple[int, int]


@dataclass(frozen=True)
class ReviewEntry:
    """One photo of the batch: `status` "ok", "flagged" or "failed"; `note` the flag reason
    or error; `subject` what was cut out ("person", "object", or "" when unknown)."""

    source: Path
    output: Path | None
    status: str
    confidence: float
    note: str = ""
    subject: str = ""
    thumbs: Thumbs | None = None


def prepare_review(folder: Path) -> None:
    """Create `folder` and its thumbnails folder; OutputError naming it if impossible."""
    try:
        (folder / THUMBS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: review folder cannot be created ({write_reason(exc)})") from None


def thumbnail_key(name: str) -> str:
    """A file-name-safe stem for `name` (e.g. the output's stem, unique in the batch) that
    stays unique: its safe characters and a short hash of the whole."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:60] or "photo"
    return f"{safe}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def write_thumbnails(folder: Path, name: str, original: np.ndarray,
                     cutout: np.ndarray | None = None, alpha: np.ndarray | None = None) -> Thumbs:
    """Write one photo's thumbnails into `folder`/thumbs (made if missing): the `original`
    (RGB uint8) as JPEG and, given `alpha` (uint8 HxW, with `cutout` its RGB, default the
    original), the cut-out as WebP with alpha. `name` identifies the photo (the output's
    stem). Returns their names for `ReviewEntry.thumbs`; OutputError if they cannot be written."""
    h, w = original.shape[:2]
    s = min(1.0, THUMB_SIDE / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    key = thumbnail_key(name)
    (folder / THUMBS).mkdir(parents=True, exist_ok=True)
    small = cv2.resize(original, size, interpolation=cv2.INTER_AREA)
    first = f"{THUMBS}/{key}.jpg"
    _write(folder / first, cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    second = None
    if alpha is not None:
        colour, a = resize_cutout(original if cutout is None else cutout, alpha, size)
        second = f"{THUMBS}/{key}.webp"
        bgra = cv2.cvtColor(colour, cv2.COLOR_RGB2BGR)
        _write(folder / second, cv2.merge([*cv2.split(bgra), a]), [cv2.IMWRITE_WEBP_QUALITY, 85])
    return Thumbs(first, second, size)


def find_thumbnails(folder: Path, name: str) -> Thumbs | None:
    """The thumbnails `write_thumbnails(folder, name, ...)` wrote (in this or a worker
    process), or None if there are none: for a caller that did not keep its `Thumbs`."""
    key = thumbnail_key(name)
    original = folder / THUMBS / f"{key}.jpg"
    probe = cv2.imread(str(original), cv2.IMREAD_GRAYSCALE) if original.is_file() else None
    if probe is None:
        return None
    cutout = f"{THUMBS}/{key}.webp" if (folder / THUMBS / f"{key}.webp").is_file() else None
    return Thumbs(f"{THUMBS}/{key}.jpg", cutout, (probe.shape[1], probe.shape[0]))


def _write(target: Path, image: np.ndarray, params: list[int]) -> None:
    ok, data = cv2.imencode(target.suffix, image, params)
    if not ok:
        raise OutputError(f"{target}: cannot encode as {target.suffix}")
    partial = partial_path(target)
    try:
        write_file(partial, data, name=target)
        commit(partial, target, overwrite=True)
    except BaseException:
        discard(partial)
        raise


def review_order(entries: list[ReviewEntry]) -> list[ReviewEntry]:
    """Flagged first, then failed, then ok; within each, least confident first (then by name)."""
    rank = {status: i for i, status in enumerate(STATUSES)}
    return sorted(entries, key=lambda e: (rank.get(e.status, len(STATUSES)), e.confidence, str(e.source)))


def write_review(folder: Path, entries: list[ReviewEntry], title: str = "Backdrop review",
                 overwrite: bool = True) -> Path:
    """Write `folder`/index.html for `entries` (their thumbnails written already, or None),
    via a temporary name; returns its path. Without `overwrite` an existing page is kept
    and OutputError says so."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / INDEX
    page = render_review(folder, entries, title)
    partial = partial_path(target)
    try:
        write_file(partial, page.encode("utf-8"), name=target)
        commit(partial, target, overwrite)
    except BaseException:
        discard(partial)
        raise
    return target


def render_review(folder: Path, entries: list[ReviewEntry], title: str = "Backdrop review") -> str:
    """The page's HTML, links relative to `folder`."""
    ordered = review_order(entries)
    counts = {status: sum(e.status == status for e in entries) for status in STATUSES}
    summary = " · ".join(f'<a href="#{s}" class="count {s}">{counts[s]} {s}</a>' for s in STATUSES)
    parts = [_HEAD.format(title=html.escape(title)),
             f"<header><h1>{html.escape(title)}</h1><p class=\"summary\">{len(entries)} photos: {summary}"
             f"</p><p class=\"hint\">Flagged and failed photos come first, least confident first.</p></header>"]
    for status in STATUSES:
        group = [e for e in ordered if e.status == status]
        if not group:
            continue
        heading = {"flagged": "Flagged for review", "failed": "Failed", "ok": "OK"}[status]
        parts.append(f'<section id="{status}"><h2>{heading} ({len(group)})</h2>')
        parts.extend(_entry(folder, e) for e in group)
        parts.append("</section>")
    others = [e for e in ordered if e.status not in STATUSES]
    parts.extend(_entry(folder, e) for e in others)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _link(folder: Path, path: Path) -> str:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
    return html.escape(quote(Path(rel).as_posix()), quote=True)


def _img(src: str, size: tuple[int, int], alt: str, cls: str) -> str:
    return (f'<img class="{cls}" src="{html.escape(quote(src), quote=True)}" width="{size[0]}" '
            f'height="{size[1]}" alt="{alt}" loading="lazy">')


def _entry(folder: Path, e: ReviewEntry) -> str:
    name = html.escape(e.source.name)
    percent = max(0, min(100, round(e.confidence * 100)))
    if e.thumbs is None:
        pictures = '<div class="missing">no picture</div>'
    else:
        t = e.thumbs
        pictures = f"<figure>{_img(t.original, t.size, 'original', 'original')}<figcaption>original</figcaption></figure>"
        if t.cutout is not None:
            pictures += (f"<figure>{_img(t.cutout, t.size, 'cut-out', 'checker')}<figcaption>cut-out</figcaption></figure>"
                         f"<figure>{_img(t.cutout, t.size, 'on white', 'white')}<figcaption>on white</figcaption></figure>")
    output = (f'<a href="{_link(folder, e.output)}">{html.escape(e.output.name)}</a>' if e.output else "no output")
    confidence = ("" if e.status == "failed" else f'<p class="confidence">confidence {e.confidence:.2f}'
                  f'<span class="bar"><span style="width:{percent}%"></span></span></p>')
    subject = f'<span class="subject">{html.escape(e.subject)}</span>' if e.subject else ""
    note = f'<p class="note">{html.escape(e.note)}</p>' if e.note else ""
    return (f'<article class="entry {html.escape(e.status)}" data-status="{html.escape(e.status)}" '
            f'data-confidence="{e.confidence:.3f}">'
            f'<div class="pictures">{pictures}</div><div class="info">'
            f'<h3><a href="{_link(folder, e.source)}">{name}</a></h3>'
            f'<p><span class="badge {html.escape(e.status)}">{html.escape(e.status)}</span> {subject}</p>'
            f'{confidence}{note}<p class="output">{output}</p></div></article>')


_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 0 24px 40px; color: #222; background: #f3f3f3; }}
header {{ position: sticky; top: 0; background: #f3f3f3; padding: 12px 0 8px; border-bottom: 1px solid #ccc; z-index: 1; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }} h2 {{ font-size: 16px; margin: 20px 0 8px; }}
section {{ scroll-margin-top: 110px; }}
h3 {{ font-size: 14px; margin: 0 0 6px; word-break: break-all; }}
.summary a {{ text-decoration: none; font-weight: 600; }} .hint {{ color: #666; margin: 2px 0 0; }}
.entry {{ display: flex; gap: 16px; background: #fff; border: 1px solid #ddd; border-left: 6px solid #4a4;
  border-radius: 4px; padding: 10px; margin: 0 0 10px; }}
.entry.flagged {{ border-left-color: #e0a000; }} .entry.failed {{ border-left-color: #d33; }}
.pictures {{ display: flex; gap: 10px; flex: none; }}
figure {{ margin: 0; width: 200px; text-align: center; }}
figure img {{ display: block; margin: 0 auto; }}
figcaption {{ color: #777; font-size: 12px; margin-top: 2px; }}
img.checker {{ background: repeating-conic-gradient(#ccc 0 25%, #fff 0 50%) 0 0 / 16px 16px; }}
img.white {{ background: #fff; outline: 1px solid #eee; }}
.missing {{ width: 200px; height: 120px; display: flex; align-items: center; justify-content: center;
  background: #eee; color: #888; }}
.info {{ min-width: 0; }} .info p {{ margin: 4px 0; }}
.badge {{ display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; background: #4a4; }}
.badge.flagged {{ background: #e0a000; }} .badge.failed {{ background: #d33; }}
.subject {{ color: #555; }}
.bar {{ display: inline-block; width: 100px; height: 8px; background: #eee; margin-left: 8px; vertical-align: middle; }}
.bar span {{ display: block; height: 100%; background: #58a; }}
.note {{ color: #a60; }} .failed .note {{ color: #b22; }} .output {{ color: #555; }}
</style></head><body>"""
