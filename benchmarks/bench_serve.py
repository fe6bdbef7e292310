"""`backdrop serve` under load: a real httpx client on 127.0.0.1 against a real server.

    .venv/bin/python benchmarks/bench_serve.py [--workers 1,2] [--clients 1,4,16] [--seconds 30]
    .venv/bin/python benchmarks/bench_serve.py --soak 600 [--soak-workers 2]

For each worker count, a server is started (`python -m app serve --workers N`), made ready,
and driven by 1, 4 and 16 concurrent clients, each posting the same photo to `/v1/remove`
with `subject=object` (the default object model) as fast as answers come; printed per level:
throughput (answers/s), p50 and p95 latency (ms), and errors (any status but 200).
`--soak SECONDS` instead runs 4 clients for that long and prints the errors and the growth
of the server's resident memory (VmRSS of the server and its worker processes, summed,
read from /proc), sampled after a warm-up; exit status 1 when there were errors or the
growth reached `--max-growth-mb` (default 50)."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import httpx  # noqa: E402

from app.service.worker import sample_picture  # noqa: E402


def picture(size: tuple[int, int]) -> bytes:
    """A PNG of a red disc and a blue box (the product) on a textured ground."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(sample_picture(size), cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(workers: int, queue: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", str(workers),
                             "--queue", str(queue)], cwd=REPO, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    with httpx.Client(base_url=url, timeout=5) as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the server ended with status {proc.returncode}")
            try:
                if c.get("/readyz").status_code == 200:
                    return proc, url
            except httpx.TransportError:
                pass
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("the server did not become ready")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def drive(url: str, clients: int, seconds: float, photo: bytes) -> tuple[list[float], int, float]:
    """`clients` threads posting `photo` for `seconds`: latencies (s) of answers, errors, wall time."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(base_url=url, timeout=120) as c:
            while time.monotonic() < end:
                t0 = time.perf_counter()
                try:
                    ok = c.post("/v1/remove", params={"subject": "object"}, content=photo,
                                headers={"content-type": "image/png"}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    if ok:
                        latencies.append(time.perf_counter() - t0)
                    else:
                        errors[0] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.perf_counter() - t0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def rss_mb(pid: int) -> float:
    """VmRSS of `pid` and all its descendants, MB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return total / 1024


def levels(args: argparse.Namespace, photo: bytes) -> int:
    print(f"photo {args.size[0]}x{args.size[1]} PNG, subject=object, {args.seconds:g} s per level, "
          f"{os.cpu_count()} cores")
    print(f"{'workers':>7s} {'clients':>7s} {'answers':>7s} {'per s':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'errors':>6s}")
    failed = 0
    for workers in args.workers:
        proc, url = start(workers, max(args.clients) * 2)
        try:
            drive(url, 1, 0.0, photo)  # one request first (nothing timed)
            for clients in args.clients:
                lat, errors, wall = drive(url, clients, args.seconds, photo)
                failed += errors
                print(f"{workers:7d} {clients:7d} {len(lat):7d} {len(lat) / wall:7.2f} "
                      f"{percentile(lat, 50) * 1000:8.0f} {percentile(lat, 95) * 1000:8.0f} {errors:6d}", flush=True)
        finally:
            stop(proc)
    return 1 if failed else 0


def soak(args: argparse.Namespace, photo: bytes) -> int:
    proc, url = start(args.soak_workers, 16)
    try:
        drive(url, 4, min(20.0, args.soak / 10), photo)  # warm-up: allocator pools, caches
        before = rss_mb(proc.pid)
        lat, errors, wall = drive(url, 4, args.soak, photo)
        after = rss_mb(proc.pid)
    finally:
        stop(proc)
    growth = after - before
    print(f"soak: {args.soak_workers} workers, 4 clients, {wall:.0f} s: {len(lat)} answers "
          f"({len(lat) / wall:.2f}/s, p50 {percentile(lat, 50) * 1000:.0f} ms, p95 {percentile(lat, 95) * 1000:.0f} ms), "
          f"{errors} errors; RSS {before:.0f} -> {after:.0f} MB (growth {growth:+.1f} MB)")
    return 1 if errors or growth >= args.max_growth_mb else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2])
    p.add_argument("--clients", type=lambda s: [int(v) for v in s.split(",")], default=[1, 4, 16])
    p.add_argument("--seconds", type=float, default=30.0, help="per level")
    p.add_argument("--size", type=lambda s: tuple(int(v) for v in s.split("x")), default=(640, 480))
    p.add_argument("--soak", type=float, metavar="SECONDS", help="soak at 4 clients instead")
    p.add_argument("--soak-workers", type=int, default=2)
    p.add_argument("--max-growth-mb", type=float, default=50.0)
    args = p.parse_args()
    photo = picture(args.size)
    return soak(args, photo) if args.soak else levels(args, photo)


if __name__ == "__main__":
    sys.exit(main())
