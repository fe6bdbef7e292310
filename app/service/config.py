"""The service's settings, and the rule for which addresses need an API key."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from app.engine.core.errors import SettingsError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_BODY_MB = 25.0  # remove.bg takes uploads up to 22 MB
DEFAULT_MAX_PIXELS = 25_000_000
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_QUEUE = 16


@dataclass(frozen=True)
class ServiceConfig:
    """What one server process promises: at most `queue` requests admitted at a time
    (waiting for a worker plus being worked on), bodies of at most `max_body_bytes`, images
    of at most `max_pixels` (read from the header, before decoding), each request answered
    within about `timeout_s`; `api_key` None: no key asked for (loopback only)."""

    workers: int = 1
    api_key: str | None = None
    max_body_bytes: int = int(DEFAULT_MAX_BODY_MB * 1024 * 1024)
    max_pixels: int = DEFAULT_MAX_PIXELS
    timeout_s: float = DEFAULT_TIMEOUT_S
    queue: int = DEFAULT_QUEUE
    warm_up: bool = True  # load the default models in each worker before it counts as ready

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise SettingsError(f"--workers must be at least 1, got {self.workers}")
        if self.queue < 1:
            raise SettingsError(f"--queue must be at least 1, got {self.queue}")
        if self.max_body_bytes < 1 or self.max_pixels < 1 or not self.timeout_s > 0:
            raise SettingsError("--max-body-mb, --max-pixels and --timeout-s must be above 0")


def is_loopback(host: str) -> bool:
    """True for "localhost" and loopback addresses (127.0.0.0/8, ::1); every other name or
    address, including 0.0.0.0 and "::", counts as reachable from elsewhere."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def read_api_key(path: Path) -> str:
    """The key in `path` (its first line, stripped); SettingsError when the file cannot be
    read or holds no key. The key itself is never printed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"--api-key-file {path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    key = text.strip().splitlines()[0].strip() if text.strip() else ""
    if len(key) < 16:
        raise SettingsError(f"--api-key-file {path}: the key must be at least 16 characters on its first line")
    return key
