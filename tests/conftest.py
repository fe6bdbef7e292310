"""Shared fixtures: media made once per session, the command line, one real segmenter; and,
for every test, its own config and data folders and a check that it leaves no thread."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `from support import media` from any test

from support import media  # noqa: E402

THREAD_PREFIX = "backdrop-"
THREAD_GRACE_S = 2.0
# The shared GL runtime's thread is process-wide by design (app/engine/gl/context.py): it starts
# on first use, module-scoped fixtures (test_gl_context's `rt`, test_gl_compositor's
# `gl_runtime`) hold it across tests, `context.runtime()` alone starts it unheld, and it ends
# with its last holder, `context.shutdown()` or at exit. test_gl_context checks its end itself.
LONG_LIVED_THREADS = {"backdrop-gl"}


def _backdrop_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate()
            if t.name.startswith(THREAD_PREFIX) and t.name not in LONG_LIVED_THREADS and t.is_alive()}


@pytest.fixture(autouse=True)
def no_thread_left_running():
    """Fail a test that leaves a `backdrop-*` thread it started still running (threads that
    are closing get THREAD_GRACE_S). Threads started by wider-scoped fixtures are set up
    before this runs and so are not counted."""
    before = _backdrop_threads()
    yield
    deadline = time.monotonic() + THREAD_GRACE_S
    left = _backdrop_threads() - before
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = {t for t in left if t.is_alive()}
    if left:
        pytest.fail("the test left threads running: " + ", ".join(sorted(t.name for t in left)), pytrace=False)


@pytest.fixture(autouse=True)
def own_settings_folders(tmp_path_factory, monkeypatch):
    """Each test gets its own config and data folders (the panel's settings file, the user's
    backgrounds), so nothing reads or writes the real ones."""
    home = tmp_path_factory.mktemp("xdg")
    _keep_the_sound_server(monkeypatch)
    for name, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data")):
        (home / sub).mkdir()
        monkeypatch.setenv(name, str(home / sub))
    monkeypatch.delenv("BACKDROP_USER_BACKGROUNDS", raising=False)


def _keep_the_sound_server(monkeypatch) -> None:
    """PulseAudio finds its cookie and, without XDG_RUNTIME_DIR, the link to its socket in
    the config folder: point its clients at the real ones before that folder moves, so the
    server the audio tests started stays reachable."""
    real = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "pulse"
    if "PULSE_COOKIE" not in os.environ and (real / "cookie").is_file():
        monkeypatch.setenv("PULSE_COOKIE", str(real / "cookie"))
    if "PULSE_RUNTIME_PATH" in os.environ or "XDG_RUNTIME_DIR" in os.environ:
        return
    for link in sorted(real.glob("*-runtime")):
        if link.resolve().is_dir():
            monkeypatch.setenv("PULSE_RUNTIME_PATH", str(link.resolve()))
            return


@pytest.fixture
def user_dir(tmp_path, monkeypatch) -> Path:
    """The user's backgrounds folder, empty, for this test."""
    folder = tmp_path / "mine"
    folder.mkdir()
    monkeypatch.setenv("BACKDROP_USER_BACKGROUNDS", str(folder))
    return folder


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """Read-only media shared by the whole session (tests copy before changing anything)."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip_mp4(media_dir) -> Path:
    """15 frames (0.5 s) of the portrait at 30 fps, 320x240, with a 440 Hz AAC tone."""
    return media.make_video(media_dir / "clip.mp4", frames=15)


@pytest.fixture(scope="session")
def clip_mp4_info(clip_mp4) -> media.VideoInfo:
    return media.probe(clip_mp4)


@pytest.fixture(scope="session")
def portrait_png(media_dir) -> Path:
    return media.write_image(media_dir / "portrait.png", media.portrait((320, 240)))


@pytest.fixture
def clip(clip_mp4, tmp_path) -> Path:
    """A private copy of the shared clip inside this test's tmp_path."""
    target = tmp_path / "input.mp4"
    shutil.copyfile(clip_mp4, target)
    return target


@pytest.fixture(scope="session")
def segmenter():
    """One real general-model segmenter in IMAGE mode for the whole session."""
    from app.engine.matting.segmenter import Segmenter

    seg = Segmenter("general", video=False)
    yield seg
    seg.close()


@pytest.fixture(scope="module")
def pa():
    """A real PulseAudio server (started here if none runs, stopped after the module) and
    a loader of null sinks under this test process's own names, unloaded afterwards."""
    from support import pulse as pulsetest

    if not pulsetest.sound_server_available():
        pytest.skip("no PulseAudio-compatible server and no pulseaudio to start one (install.sh installs it)")
    started = pulsetest.start_server()
    server = pulsetest.Pulse()
    yield server
    server.close()
    if started:
        pulsetest.stop_server()


@pytest.fixture
def run_cli():
    return media.run_cli
