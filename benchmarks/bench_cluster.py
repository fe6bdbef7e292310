"""`backdrop remove --ray` against the local process pool, on one batch of photos.

A local Ray cluster is started here (`ray start --head --num-cpus CPUS`, its own port and
temporary folder, ended by process id afterwards); the same batch (half the demo portrait
at a few sway positions, half a coloured product on a textured background) runs through
`batch.run_jobs` with CPUS workers, then `run_jobs_on_ray` with the workers reading and
writing the folders in place, then with the bytes streamed. Each figure includes starting
the workers and loading their models, as a user's run does; printed: seconds per image,
the time to the first result, the overhead per image against the local pool, and whether
the outputs are identical image for image.

    .venv/bin/python benchmarks/bench_cluster.py [--photos 48] [--size 1280x960] [--cpus 2]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from app.engine.files.batch import run_jobs  # noqa: E402
from app.engine.files.cluster import run_jobs_on_ray  # noqa: E402
from app.engine.files.cutout import RemoveJob, RemoveResult  # noqa: E402
from app.engine.matting.presets import MatteSettings  # noqa: E402
from benchmarks.common import person_frames  # noqa: E402


def make_photos(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    """`count` photos at `size`: every other one the demo portrait, the rest a product."""
    w, h = size
    people = person_frames(size, max(1, count // 2))
    rng = np.random.default_rng(3)
    paths = []
    for i in range(count):
        if i % 2 == 0:
            bgr = cv2.cvtColor(people[i // 2 % len(people)], cv2.COLOR_RGB2BGR)
        else:
            texture = rng.integers(0, 70, (h, w, 3)) + np.array([70, 120, 80])
            bgr = cv2.GaussianBlur(texture.astype(np.uint8), (7, 7), 0)
            cv2.ellipse(bgr, (w // 2 + i, h // 2), (w // 5, h // 4), 7 * i, 0, 360, (30, 60 + 3 * i % 150, 215),
                        -1)
        paths.append(folder / f"photo{i:03d}.jpg")
        cv2.imwrite(str(paths[-1]), bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return paths


def jobs_for(photos: list[Path], out: Path) -> list[RemoveJob]:
    out.mkdir(parents=True)
    return [RemoveJob(p, out / f"{p.stem}.png", "transparent", None, True, MatteSettings()) for p in photos]


Run = Callable[[Callable[[RemoveResult], None]], list[RemoveResult]]


def timed(run: Run) -> tuple[list[RemoveResult], float, float]:
    """(results, wall seconds, seconds to the first result)."""
    first: list[float] = []
    t0 = time.perf_counter()
    results = run(lambda _r: first or first.append(time.perf_counter() - t0))
    return results, time.perf_counter() - t0, first[0] if first else float("nan")


def session_pids(sid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,sid=,stat="], capture_output=True, text=True).stdout
    return [int(p) for p, s, st in (line.split() for line in out.splitlines()) if int(s) == sid and st[0] != "Z"]


def start_head(root: Path, cpus: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [str(Path(sys.executable).with_name("ray")), "start", "--head", "--num-cpus", str(cpus),
               "--port", str(port), "--node-ip-address", "127.0.0.1", "--include-dashboard=false",
               "--disable-usage-stats", "--temp-dir", str(root / "ray")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_") or k.startswith("RAY_AUTH_")}
    starter = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    out, _ = starter.communicate(timeout=120)
    if starter.returncode != 0:
        raise SystemExit(f"ray start failed:\n{out}")
    return starter, f"127.0.0.1:{port}"


def stop_head(starter: subprocess.Popen) -> None:
    """End the processes of the session `ray start` opened, by id (the GCS ignores SIGTERM)."""
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        for pid in session_pids(starter.pid):
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while session_pids(starter.pid) and time.monotonic() < deadline:
            time.sleep(0.1)


def same_images(a: list[RemoveResult], b: list[RemoveResult]) -> str:
    def read(r: RemoveResult) -> np.ndarray | None:
        return cv2.imread(r.output, cv2.IMREAD_UNCHANGED)

    differ = [Path(x.source).name for x, y in zip(a, b) if not np.array_equal(read(x), read(y))]
    return "identical image for image" if not differ else f"{len(differ)} differ: {', '.join(differ[:5])}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=48)
    ap.add_argument("--size", default="1280x960", help="WxH of the photos")
    ap.add_argument("--cpus", type=int, default=2, help="the cluster's CPUs, and the local pool's workers")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    # a token of its own for the cluster (it listens on every interface); set before Ray is imported
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    with tempfile.TemporaryDirectory(prefix="bd-bench-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        photos = make_photos(root / "in", args.photos, size)
        starter, address = start_head(root, args.cpus)
        try:
            runs = {"local pool": timed(lambda cb: run_jobs(jobs_for(photos, root / "local"), args.cpus, cb))}
            runs["ray, shared folders"] = timed(
                lambda cb: run_jobs_on_ray(jobs_for(photos, root / "shared"), address, cb))
            runs["ray, streamed bytes"] = timed(
                lambda cb: run_jobs_on_ray(jobs_for(photos, root / "streamed"), address, cb, stream=True))
        finally:
            stop_head(starter)
        local, local_s, _ = runs["local pool"]
        print(f"{args.photos} photos at {size[0]}x{size[1]}, {args.cpus} CPUs ({args.cpus} local workers, "
              f"{args.cpus} Ray actors); each run includes starting its workers and loading models")
        for name, (results, wall, first) in runs.items():
            failed = sum(r.status == "failed" for r in results)
            line = (f"  {name:20s} {wall / len(results):6.3f} s/image  ({wall:6.1f} s, first result after "
                    f"{first:5.1f} s, median cut-out {np.median([r.ms for r in results]):6.0f} ms, {failed} failed)")
            if name != "local pool":
                line += (f"  overhead {(wall - local_s) / len(results) * 1000:+6.0f} ms/image, "
                         f"{same_images(results, local)}")
            print(line)


if __name__ == "__main__":
    main()
