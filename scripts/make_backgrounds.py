"""Make the backgrounds that ship in backgrounds/: stills rendered from the project's own
procedural scenes (shaders/scenes), gradients, a short seamless loop, a thumbnail for each,
and a manifest per background. Everything is generated here; nothing is downloaded.

    .venv/bin/python scripts/make_backgrounds.py [--out backgrounds]

Needs OpenGL (headless EGL is enough) for the scene stills and the loop.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.engine.gl import context  # noqa: E402
from app.engine.gl.procedural import SceneRenderer  # noqa: E402

STILL = (1920, 1080)
THUMB = (192, 108)
LOOP_SIZE, LOOP_FPS, LOOP_SECONDS = (640, 360), 24, 6.0  # waves.frag repeats every 6 s
SCENE_SCALE = 0.25  # scenes are soft: a quarter of the frame's size, upsampled, is plenty


def write_jpeg(path: Path, rgb: np.ndarray, quality: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_OPTIMIZE, 1])
    assert ok, path
    path.write_bytes(data.tobytes())


def render_scene(name: str, size: tuple[int, int], times: list[float]) -> list[np.ndarray]:
    """Frames of shaders/scenes/NAME.frag at `size`, one per time."""
    rt = context.runtime()
    text = (ROOT / "shaders" / "scenes" / f"{name}.frag").read_text()

    def draw() -> list[np.ndarray]:
        renderer = SceneRenderer(rt, text, f"scenes/{name}.frag")
        try:
            out = []
            for t in times:
                renderer.render(size, t)
                out.append(renderer.read_rgb())
            return out
        finally:
            renderer.delete()

    return rt.call(draw)


def gradient(stops: list[tuple[float, tuple[int, int, int]]], size: tuple[int, int], glow: tuple | None = None,
             vignette: float = 0.35, seed: int = 0) -> np.ndarray:
    """A vertical gradient through `stops` (position 0 = top, colour), an optional soft glow
    (x, y, radius, colour, strength), a vignette and a little dither against banding."""
    w, h = size
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    pos = np.array([p for p, _ in stops], np.float32)
    cols = np.array([c for _, c in stops], np.float32)
    column = np.stack([np.interp(y[:, 0], pos, cols[:, k]) for k in range(3)], axis=-1)
    img = np.broadcast_to(column[:, None, :], (h, w, 3)).copy()
    if glow is not None:
        gx, gy, radius, colour, strength = glow
        d2 = ((x - gx) * w / h) ** 2 + (y - gy) ** 2
        img += strength * np.exp(-d2 / (radius * radius))[..., None] * np.array(colour, np.float32)
    d2 = ((x - 0.5) * w / h) ** 2 + (y - 0.5) ** 2
    img *= (1.0 - vignette * d2)[..., None]
    img += np.random.default_rng(seed).uniform(-0.6, 0.6, img.shape).astype(np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


GRADIENTS = {
    "sunset": ("Sunset gradient", dict(stops=[(0.0, (44, 26, 78)), (0.35, (150, 52, 110)), (0.62, (236, 120, 78)),
                                                (0.78, (250, 186, 110)), (1.0, (120, 60, 62))],
                                         glow=(0.66, 0.70, 0.22, (255, 210, 140), 0.55))),
    "ocean": ("Ocean gradient", dict(stops=[(0.0, (18, 52, 96)), (0.5, (28, 110, 150)), (1.0, (10, 36, 64))],
                                      glow=(0.3, 0.35, 0.45, (120, 220, 230), 0.35))),
    "slate": ("Slate studio backdrop", dict(stops=[(0.0, (52, 58, 70)), (0.55, (84, 92, 106)), (1.0, (40, 44, 52))],
                                             glow=(0.5, 0.45, 0.40, (150, 160, 175), 0.45), vignette=0.6)),
}
SCENES = {  # id: (display name, still time in seconds)
    "aurora": ("Aurora (animated)", 2.0),
    "bokeh": ("Warm bokeh (animated)", 3.0),
    "studio": ("Virtual studio (animated)", 1.5),
}
SCENE_STILLS = {"bokeh-still": ("Warm bokeh", "bokeh"), "studio-still": ("Virtual studio", "studio")}


def write_loop(path: Path) -> np.ndarray:
    """The waves scene as a seamless H.264 loop; returns its first frame."""
    count = round(LOOP_SECONDS * LOOP_FPS)
    frames = render_scene("waves", LOOP_SIZE, [i / LOOP_FPS for i in range(count)])
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=LOOP_FPS, options={"crf": "26", "preset": "slow", "g": "48"})
        stream.width, stream.height, stream.pix_fmt = LOOP_SIZE[0], LOOP_SIZE[1], "yuv420p"
        for i, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, LOOP_FPS)
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return frames[0]


def thumbnail(out: Path, ident: str, rgb: np.ndarray) -> str:
    small = cv2.resize(rgb, THUMB, interpolation=cv2.INTER_AREA)
    write_jpeg(out / "thumbs" / f"{ident}.jpg", small, 85)
    return f"thumbs/{ident}.jpg"


def manifest(out: Path, ident: str, data: dict) -> None:
    (out / f"{ident}.json").write_text(json.dumps(data, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "backgrounds")
    args = parser.parse_args()
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    stills = {}
    for ident, (name, t) in SCENES.items():
        rgb = render_scene(ident, STILL, [t])[0]
        stills[ident] = rgb
        write_jpeg(out / "stills" / f"{ident}.jpg", rgb)
        manifest(out, ident, {"name": name, "kind": "shader", "shader": f"scenes/{ident}.frag",
                              "thumbnail": thumbnail(out, ident, rgb), "still": f"stills/{ident}.jpg",
                              "render_scale": SCENE_SCALE})
    for ident, (name, scene) in SCENE_STILLS.items():
        manifest(out, ident, {"name": name, "kind": "photo", "file": f"stills/{scene}.jpg",
                              "thumbnail": thumbnail(out, ident, stills[scene])})
    for i, (ident, (name, spec)) in enumerate(GRADIENTS.items()):
        rgb = gradient(size=STILL, seed=i, **spec)
        write_jpeg(out / "photos" / f"{ident}.jpg", rgb)
        manifest(out, ident, {"name": name, "kind": "photo", "file": f"photos/{ident}.jpg",
                              "thumbnail": thumbnail(out, ident, rgb)})
    first = write_loop(out / "loops" / "waves.mp4")
    manifest(out, "waves", {"name": "Waves (looping video)", "kind": "video", "file": "loops/waves.mp4",
                            "thumbnail": thumbnail(out, "waves", first)})
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {len(list(out.glob('*.json')))} backgrounds to {out} ({total / 1e6:.2f} MB)")
    context.shutdown()


if __name__ == "__main__":
    main()
