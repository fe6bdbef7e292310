"""Shared fixtures: media made once per session, the command line, one real segmenter."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import media` from any test

import media  # noqa: E402


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
    import pulse as pulsetest

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
