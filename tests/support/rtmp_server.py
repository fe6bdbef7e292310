"""A real RTMP server for tests: nginx with the rtmp module on 127.0.0.1, recording every
stream it receives to a folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

MODULE_PATHS = ("/usr/lib/nginx/modules/ngx_rtmp_module.so", "/usr/share/nginx/modules/ngx_rtmp_module.so")

CONFIG = """daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
load_module {module};
events {{ worker_connections 64; }}
rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;
  application live {{ live on; record all; record_path {root}/rec; record_unique off; }} }} }}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rtmp_module() -> str | None:
    return next((p for p in MODULE_PATHS if Path(p).exists()), None)


class RtmpServer:
    """Start with `start()`, stop with `stop()`; `url(key)` is where to publish or play."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root, self.port = root, port or free_port()
        (root / "rec").mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    def url(self, key: str = "test") -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{key}"

    def recording(self, key: str = "test") -> Path:
        return self.root / "rec" / f"{key}.flv"

    def start(self) -> "RtmpServer":
        conf = self.root / "nginx.conf"
        conf.write_text(CONFIG.format(root=self.root, module=rtmp_module(), port=self.port))
        self.proc = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-p", str(self.root),
                                      "-e", "stderr"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode(errors='replace')}")
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
