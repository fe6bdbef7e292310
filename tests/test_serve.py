"""`backdrop serve` against real uvicorn processes on free loopback ports, with httpx: every
endpoint, each limit (413 body and pixels, 415, 400, 503, 504, 401), the refusal to listen
beyond loopback without a key, remove.bg's request shapes, /metrics counting them, and a
clean stop on SIGTERM."""

from __future__ import annotations

import base64
import io
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from app.service.worker import sample_picture

REPO = Path(__file__).resolve().parents[1]
KEY = "test-key-0123456789abcdef"
START_S = 120.0


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    tmp: Path

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, *args: str, ready: bool = True) -> Server:
    """`python -m app serve` on a free port, its temporary folder `tmp`; waits until
    /readyz (or /healthz) answers 200."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp), "BACKDROP_PROVIDERS": "cpu"}
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = Server(f"http://127.0.0.1:{port}", proc, tmp)
    deadline = time.monotonic() + START_S
    with httpx.Client(base_url=server.url, timeout=5) as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"the server ended (rc {proc.returncode}): {proc.stderr.read()}")
            try:
                if c.get("/readyz" if ready else "/healthz").status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.25)
    stop(server)
    raise AssertionError("the server did not become ready")


def stop(server: Server) -> tuple[int, str]:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        _, err = server.process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        _, err = server.process.communicate()
    return server.process.returncode, err


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """Two workers, a 1 MB body limit and a 4 Mpixel image limit."""
    s = start_server(tmp_path_factory.mktemp("serve"), "--workers", "2", "--max-body-mb", "1",
                     "--max-pixels", "4000000")
    yield s
    stop(s)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> Iterator[Server]:
    """An API key, one worker (loading its models on its first request), a queue of one, 1 s per request."""
    tmp = tmp_path_factory.mktemp("guarded")
    (tmp / "key").write_text(KEY + "\n")
    s = start_server(tmp / "tmp", "--api-key-file", str(tmp / "key"), "--workers", "1", "--queue", "1",
                     "--timeout-s", "1", "--no-warm-up")
    yield s
    stop(s)


def picture(size: tuple[int, int] = (160, 120)) -> np.ndarray:
    """RGB: a red disc and a blue box (the object) on a textured green-grey ground."""
    return sample_picture(size)


def encoded(rgb: np.ndarray, ext: str = ".png") -> bytes:
    ok, data = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


def decoded(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None, "the answer is not an image"
    return img


def bomb_png(side: int = 30000) -> bytes:
    """A valid 1-bit PNG of side x side pixels, about 110 KB: 900 Mpixel once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    packer, row = zlib.compressobj(9), b"\0" * (1 + (side + 7) // 8)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def errors_of(r: httpx.Response) -> list[dict]:
    body = r.json()
    assert set(body) == {"errors"} and body["errors"], body
    assert all({"title", "code"} <= set(e) for e in body["errors"]), body
    return body["errors"]


def counts(client: httpx.Client) -> dict[tuple[str, str], float]:
    found = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "backdrop_requests_total":
                found[(sample.labels["endpoint"], sample.labels["status"])] = sample.value
    return found


PNG = encoded(picture())


# -- the endpoints -------------------------------------------------------------------------
@pytest.mark.slow
def test_probes_and_models(server):
    with server.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready_workers"] == 2, ready.text
        models = c.get("/v1/models").json()
        names = {m["name"] for m in models["models"]}
        assert {"u2netp", "rvm", "general"} <= names and models["defaults"]["object"] in names
        assert c.get("/docs").status_code == 200 and "/v1.0/removebg" in c.get("/openapi.json").json()["paths"]


def test_remove_multipart_cuts_the_object_out(server):
    with server.client() as c:
        r = c.post("/v1/remove", files={"image": ("shop.png", PNG, "image/png")}, data={"subject": "object"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.headers["x-subject"] == "object"
    assert 0.0 <= float(r.headers["x-confidence"]) <= 1.0 and r.headers["x-review-flag"] in ("0", "1")
    img = decoded(r.content)
    assert img.shape == (120, 160, 4)
    assert img[60, 64, 3] > 200, "the disc is kept"
    assert img[3, 3, 3] < 40, "the ground is removed"


@pytest.mark.slow
def test_remove_raw_body_with_layout_options(server):
    with server.client() as c:
        r = c.post("/v1/remove", params={"subject": "object", "background": "white", "format": "jpg",
                                         "trim": "true", "margin": "5"},
                   content=encoded(picture(), ".jpg"), headers={"content-type": "image/jpeg"})
        assert r.status_code == 200, r.text
        img = decoded(r.content)
        assert r.headers["content-type"] == "image/jpeg" and img.ndim == 3 and img.shape[2] == 3
        assert img.shape[0] < 120 and img.shape[1] < 160, "trimmed to the object"
        r = c.post("/v1/remove?subject=object&canvas=200x200&shadow=1&format=webp&edges=fast", content=PNG)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/webp" and decoded(r.content).shape[:2] == (200, 200)


def test_remove_refuses_paths_and_bad_options(server):
    with server.client() as c:
        for params, words in (({"background": "/etc/hosts.png"}, "opens no paths"),
                              ({"background": "../x.jpg"}, "opens no paths"),
                              ({"model": "/tmp/mine.onnx"}, "opens no model paths"),
                              ({"subject": "cat"}, "subject must be one of"),
                              ({"format": "jpg"}, "cannot hold transparency"),
                              ({"margin": "80"}, "margin must be"),
                              ({"colour": "red"}, "unknown option")):
            r = c.post("/v1/remove", params=params, content=PNG)
            assert r.status_code == 400, (params, r.text)
            assert words in errors_of(r)[0]["title"], (params, r.text)


# -- remove.bg's request shapes --------------------------------------------------------------
def test_removebg_image_file_as_product(server):
    with server.client() as c:
        r = c.post("/v1.0/removebg", files={"image_file": ("a.png", PNG, "image/png")}, data={"type": "product"},
                   headers={"X-Api-Key": "ignored without a key set"})
    assert r.status_code == 200, r.text
    assert r.headers["x-type"] == "product" and (r.headers["x-width"], r.headers["x-height"]) == ("160", "120")
    assert decoded(r.content).shape == (120, 160, 4)


def test_removebg_person_auto(server):
    from app.engine.sources.demo import demo_photo_path  # the portrait of a real person

    photo = cv2.imread(str(demo_photo_path()))
    data = encoded(cv2.cvtColor(cv2.resize(photo, (256, 300), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB), ".jpg")
    with server.client() as c:
        r = c.post("/v1.0/removebg", files={"image_file": ("grace.jpg", data, "image/jpeg")}, data={"size": "auto"})
    assert r.status_code == 200, r.text
    assert r.headers["x-type"] == "person" and r.headers["x-subject"] == "person"
    alpha = decoded(r.content)[..., 3]
    assert alpha[150, 128] > 200 and alpha[:30, :25].max() < 40


def test_unknown_paths_answer_in_the_errors_shape(server):
    with server.client() as c:
        assert c.get("/v2/nothing").status_code == 404 and errors_of(c.get("/v2/nothing"))
        assert c.get("/v1/remove").status_code == 405 and errors_of(c.get("/v1/remove"))


def test_removebg_b64_jpg_on_a_colour(server):
    with server.client() as c:
        r = c.post("/v1.0/removebg", data={"image_file_b64": base64.b64encode(PNG).decode(), "format": "jpg",
                                           "bg_color": "81d4fa", "type": "product"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    corner = decoded(r.content)[2, 2].astype(int)  # BGR
    assert np.abs(corner - [0xFA, 0xD4, 0x81]).max() < 12, corner


@pytest.mark.slow
def test_removebg_crop_alpha_size_and_json(server):
    with server.client() as c:
        cropped = c.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, data={"type": "product", "crop": "true"})
        assert cropped.status_code == 200, cropped.text
        assert int(cropped.headers["x-width"]) < 160 and int(cropped.headers["x-height"]) < 120
        alpha = c.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, data={"type": "product", "channels": "alpha"})
        assert alpha.status_code == 200, alpha.text
        with Image.open(io.BytesIO(alpha.content)) as im:
            assert im.mode == "L" and im.size == (160, 120)
            matte = np.array(im)
        assert matte[60, 64] > 200 and matte[3, 3] < 40
        big = encoded(picture((640, 480)))
        small = c.post("/v1.0/removebg", files={"image_file": ("b.png", big)},
                       data={"type": "product", "size": "preview"})
        assert small.status_code == 200, small.text
        assert int(small.headers["x-width"]) * int(small.headers["x-height"]) <= 250_000
        js = c.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, data={"type": "product"},
                    headers={"Accept": "application/json"})
        assert js.status_code == 200 and js.json()["data"]["foreground_type"] == "product"
        assert decoded(base64.b64decode(js.json()["data"]["result_b64"])).shape == (120, 160, 4)


def test_removebg_background_image_upload(server):
    ground = np.full((90, 120, 3), (10, 200, 10), np.uint8)
    with server.client() as c:
        r = c.post("/v1.0/removebg", files={"image_file": ("a.png", PNG), "bg_image_file": ("g.png", encoded(ground))},
                   data={"type": "product"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg", "format auto: opaque results are JPEG"
    b, g, rr = decoded(r.content)[2, 2].astype(int)
    assert g > 150 and rr < 60 and b < 60, "the uploaded ground shows where the old one was"


def test_removebg_refuses_urls_and_zip(server):
    with server.client() as c:
        for data in ({"image_url": "https://example.com/a.png"},
                     {"image_file_b64": base64.b64encode(PNG).decode(), "bg_image_url": "file:///etc/passwd"}):
            r = c.post("/v1.0/removebg", data=data)
            assert r.status_code == 400 and "never opens URLs" in errors_of(r)[0]["title"], r.text
        r = c.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, data={"format": "zip"})
        assert r.status_code == 400 and errors_of(r)
        r = c.post("/v1.0/removebg", data={"size": "auto"})
        assert r.status_code == 400 and errors_of(r)[0]["code"] == "missing_image"


# -- limits ----------------------------------------------------------------------------------
def test_body_too_large_by_length_and_while_reading(server):
    big = b"\x89PNG\r\n\x1a\n" + os.urandom(1024 * 1024 + 10)
    with server.client() as c:
        r = c.post("/v1/remove", content=big, headers={"content-type": "image/png"})
        assert r.status_code == 413 and errors_of(r)[0]["code"] == "file_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
            for i in range(0, len(big), 65536):
                yield big[i:i + 65536]

        r = c.post("/v1/remove", content=chunks(), headers={"content-type": "image/png"})
        assert r.status_code == 413, r.text


def test_decompression_bomb_gets_413_before_decoding(server):
    bomb = bomb_png()
    assert len(bomb) < 200_000
    with server.client() as c:
        r = c.post("/v1/remove", files={"image": ("bomb.png", bomb, "image/png")})
        assert r.status_code == 413, r.text
        assert "30000x30000" in errors_of(r)[0]["title"]
        r = c.post("/v1.0/removebg", files={"image_file": ("bomb.png", bomb)})
        assert r.status_code == 413 and errors_of(r)[0]["code"] == "image_too_large"
        assert c.get("/readyz").json()["ready_workers"] == 2, "no worker fell over"


def test_unsupported_media_and_bad_images(server):
    broken = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00 cut off here"
    truncated = encoded(picture(), ".jpg")[:600]
    with server.client() as c:
        assert c.post("/v1/remove", content=b"hello", headers={"content-type": "text/plain"}).status_code == 415
        gif = b"GIF89a" + b"\0" * 64
        assert c.post("/v1/remove", files={"image": ("a.gif", gif, "image/gif")}).status_code == 415
        assert c.post("/v1.0/removebg", content=b"{}", headers={"content-type": "text/csv"}).status_code == 415
        for name, data in (("broken.jpg", broken), ("truncated.jpg", truncated)):
            r = c.post("/v1/remove", files={"image": (name, data, "image/jpeg")})
            assert r.status_code == 400, r.text
            # the command line's one-line reason, naming the client's file, not a server path
            assert errors_of(r)[0]["title"] == f"{name}: not a readable image (corrupt or unsupported format)"


def test_metrics_count_requests_by_endpoint_and_status(server):
    with server.client() as c:
        before = counts(c)
        c.post("/v1/remove?subject=object&edges=fast", content=PNG)
        c.post("/v1/remove", content=b"hello", headers={"content-type": "text/plain"})
        c.post("/v1.0/removebg", data={"image_url": "https://example.com/a.png"})
        after = counts(c)
        text = c.get("/metrics").text
    for key in (("/v1/remove", "200"), ("/v1/remove", "415"), ("/v1.0/removebg", "400")):
        assert after.get(key, 0) - before.get(key, 0) == 1, (key, before, after)
    for name in ("backdrop_request_seconds_bucket", "backdrop_queue_depth", "backdrop_workers_busy",
                 "backdrop_requests_admitted", "backdrop_workers_ready 2.0"):
        assert name in text, name


def test_uploads_leave_no_files(server):
    with server.client() as c:
        assert c.post("/v1/remove?subject=object&edges=fast", content=PNG).status_code == 200
    left = [p.name for p in server.tmp.iterdir() if p.name.startswith("backdrop-")]
    assert not left, left


# -- the key, the queue, the time limit --------------------------------------------------------
@pytest.mark.slow
def test_api_key_required_when_set(guarded):
    with guarded.client() as c:
        assert c.get("/healthz").status_code == 200, "probes stay open"
        for headers in ({}, {"X-Api-Key": "wrong"}, {"X-Api-Key": KEY + "x"}):
            for method, path in (("GET", "/v1/models"), ("POST", "/v1.0/removebg"), ("POST", "/v1/remove"),
                                 ("GET", "/metrics")):
                r = c.request(method, path, headers=headers, content=PNG)
                assert r.status_code == 401, (path, headers, r.text)
                assert errors_of(r)[0]["code"] == "unauthorized"
        assert c.get("/v1/models", headers={"X-Api-Key": KEY}).status_code == 200


@pytest.mark.slow
def test_queue_full_gets_503_with_retry_after(guarded):
    release, answers = threading.Event(), []

    def slow_body() -> Iterator[bytes]:
        yield PNG[:100]
        release.wait(30)
        yield PNG[100:]

    def slow_client() -> None:
        with guarded.client(headers={"X-Api-Key": KEY}) as c:
            try:
                answers.append(c.post("/v1/remove", content=slow_body(), headers={"content-type": "image/png"}))
            except httpx.TransportError as exc:  # the server answered 504 and closed while this still sent
                answers.append(exc)

    with guarded.client(headers={"X-Api-Key": KEY}) as c:
        before = counts(c)
        t0 = time.monotonic()
        thread = threading.Thread(target=slow_client)
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while "backdrop_requests_admitted 1.0" not in c.get("/metrics").text:
                assert time.monotonic() < deadline, "the slow upload was never admitted"
                time.sleep(0.05)
            r = c.post("/v1/remove", content=PNG)
            assert r.status_code == 503, r.text
            assert int(r.headers["retry-after"]) >= 1 and errors_of(r)[0]["code"] == "queue_full"
            time.sleep(max(0.0, 1.5 - (time.monotonic() - t0)))
        finally:
            release.set()
            thread.join(30)
        after = counts(c)
    assert answers and getattr(answers[0], "status_code", 504) == 504, answers
    key = ("/v1/remove", "504")
    assert after.get(key, 0) - before.get(key, 0) == 1, "an upload slower than --timeout-s ends in 504"
    assert after.get(("/v1/remove", "503"), 0) - before.get(("/v1/remove", "503"), 0) == 1


@pytest.mark.slow
def test_timeout_gets_504_and_the_worker_is_replaced(guarded):
    with guarded.client(headers={"X-Api-Key": KEY}) as c:
        r = c.post("/v1/remove", content=encoded(picture((1200, 900))))
        assert r.status_code == 504, r.text
        assert errors_of(r)[0]["code"] == "timeout"
        deadline = time.monotonic() + 60
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "no worker replaced the one that ran out of time"
            time.sleep(0.2)
        assert "backdrop_requests_admitted 0.0" in c.get("/metrics").text


# -- starting and stopping ------------------------------------------------------------------------
def test_other_addresses_need_a_key():
    proc = subprocess.run([sys.executable, "-m", "app", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--api-key-file" in lines[0] and lines[0].startswith("backdrop: error:"), proc.stderr


@pytest.mark.slow
def test_sigterm_stops_the_server_and_its_workers(tmp_path):
    s = start_server(tmp_path, "--workers", "1", "--no-warm-up")
    children = subprocess.run(["pgrep", "-P", str(s.process.pid)], capture_output=True, text=True).stdout.split()
    rc, err = stop(s)
    assert rc == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err
    time.sleep(0.5)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()
             and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
    assert not alive, f"worker processes left: {alive}"
