"""SIGINT, SIGTERM and SIGHUP stop every command cleanly, in real subprocesses: `process` and
`remove` leave no temporary files (what was finished stays), `run` finalises its recording
and removes the virtual microphone, the panel saves its settings and closes its session;
the exit status is 128 + the signal. A run killed outright (SIGKILL) leaves its temporary
file, which the next run to the same output removes."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import media
from support import pulse as pulsetest
from support.media import leftovers

from app.engine.audio import pulse
from app.engine.live.settings import LiveSettings
from app.ui import settings_store
from app.ui.settings_store import PanelSettings

pytestmark = pytest.mark.timeout(120)
STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
START_TIMEOUT_S = 60


def _id(value: object) -> str:
    return value.name if isinstance(value, signal.Signals) else str(value)


def start(*args: object, env: dict[str, str] | None = None, group: bool = False) -> subprocess.Popen:
    """`python -m app ARGS...` from the repository root, stderr piped (text)."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = str(media.REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "app", *map(str, args)], cwd=str(media.REPO), env=env,
                            stderr=subprocess.PIPE, text=True, start_new_session=group)


def wait_for(condition, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"ended (status {proc.returncode}) before {what}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} within {START_TIMEOUT_S} s")
        time.sleep(0.02)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        return proc.wait(timeout=30), proc.stderr.read()
    finally:
        proc.kill()


def stop_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "stopped by" in line]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """10 s of the portrait with sound: long enough to be stopped midway."""
    return media.make_video(tmp_path_factory.mktemp("signals") / "long.mp4", frames=300)


@pytest.mark.parametrize("signum, name", [(signal.SIGINT, "out.mp4"), (signal.SIGTERM, "out.mkv"),
                                          (signal.SIGHUP, "frames")], ids=_id)
@pytest.mark.slow
def test_process_stopped_midway_leaves_no_partial_output(long_clip, tmp_path, signum, name):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = start("process", long_clip, out_dir / name, "--quiet")
    wait_for(lambda: leftovers(out_dir), "partial output", proc)
    time.sleep(0.3)
    proc.send_signal(signum)
    rc, stderr = finish(proc)
    assert rc == STATUS[signum], stderr
    assert leftovers(out_dir) == [] and not (out_dir / name).exists()
    assert len(stop_lines(stderr)) == 1 and signal.Signals(signum).name in stderr, stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_a_killed_runs_partial_file_is_removed_by_the_next_run_to_that_output(long_clip, clip, tmp_path):
    out = tmp_path / "out.mp4"
    proc = start("process", long_clip, out, "--quiet")
    wait_for(lambda: leftovers(tmp_path), "partial output", proc)
    proc.send_signal(signal.SIGKILL)
    finish(proc)
    stale = leftovers(tmp_path)
    assert len(stale) == 1 and f"partial-{proc.pid}-" in stale[0], "the name says whose it is"
    alive = tmp_path / f".out.partial-{os.getpid()}-0123abcd.mp4"  # a running process's: not stale
    alive.write_bytes(b"")
    other = tmp_path / f".other.partial-{proc.pid}-0123abcd.mp4"  # stale, but not for this output
    other.write_bytes(b"")
    result = media.run_cli("process", clip, out, "--quiet")
    assert result.rc == 0, result.stderr
    assert leftovers(tmp_path) == sorted([alive.name, other.name])


@pytest.fixture(scope="module")
def many_photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("many")
    picture = media.portrait((960, 720))
    for i in range(40):
        media.write_image(folder / f"p{i:02d}.png", picture)
    return folder


@pytest.mark.parametrize("signum, jobs", [(signal.SIGINT, 2), (signal.SIGTERM, 1)], ids=_id)
@pytest.mark.slow
def test_remove_stopped_keeps_finished_photos_and_writes_the_report(many_photos, tmp_path, signum, jobs):
    out, report = tmp_path / "out", tmp_path / "report.csv"
    # SIGINT as a terminal sends it, to the whole process group (the pool's workers too)
    proc = start("remove", many_photos, "-o", out, "--report", report, "--jobs", jobs, "--quiet", group=True)
    wait_for(lambda: out.is_dir() and any(p.suffix == ".png" for p in out.glob("p*.png")), "first photo", proc)
    time.sleep(0.2)  # (its result on the way to the parent)
    os.killpg(proc.pid, signum) if signum == signal.SIGINT else proc.send_signal(signum)
    rc, stderr = finish(proc)
    assert rc == STATUS[signum], stderr
    assert leftovers(tmp_path) == [], "no half-written photo or report"
    written = sorted(p.name for p in out.iterdir())
    assert 1 <= len(written) < 40
    with report.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(Path(row["output"]).name in written for row in rows), "the report lists what was done"
    assert len(stop_lines(stderr)) == 1 and "Traceback" not in stderr, stderr


def _modules_named(word: str) -> list[str]:
    return [f"{index} {name} {args}" for index, name, args in pulse.modules() if word in args]


@pytest.mark.slow
def test_run_on_sighup_finalises_its_recording(tmp_path):
    record = tmp_path / "out.mp4"
    proc = start("run", "--camera", "demo", "--size", "320x240", "--vcam-backend", "null", "--vcam",
                 "--record", record, "--mic", "none")
    while "latency p50" not in (line := proc.stderr.readline()):
        assert line, "ended before its first statistics line"
    t0 = time.monotonic()
    time.sleep(2.5)
    proc.send_signal(signal.SIGHUP)
    ran = time.monotonic() - t0
    rc, stderr = finish(proc)
    assert rc == 129, stderr
    assert "stopped by SIGHUP" in stderr
    info = media.probe(record, decode_audio=False)
    duration = info.pts_seconds[-1] - info.pts_seconds[0]
    assert ran - 0.3 <= duration <= ran + 2.5, (ran, duration)  # (it recorded ~1 s before the first line)
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_run_on_sigterm_removes_the_virtual_microphone(pa, tmp_path):
    mic = pa.null_sink("signals_mic")  # its monitor stands in for a microphone
    proc = start("run", "--camera", "demo", "--size", "320x240", "--vcam-backend", "null", "--vcam",
                 "--mic", f"{mic}.monitor", "--quiet")
    wait_for(lambda: _modules_named("backdrop_mic"), "virtual microphone", proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    rc, stderr = finish(proc)
    assert rc == 143, stderr
    assert _modules_named("backdrop_mic") == [], "the virtual microphone is removed"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=_id)
@pytest.mark.slow
def test_the_panel_on_a_signal_saves_its_settings_and_closes_its_session(request, tmp_path, signum):
    """The panel with no arguments, offscreen; its settings in its own config folder."""
    mic = "none"
    if pulsetest.sound_server_available():
        mic = f"{request.getfixturevalue('pa').null_sink('signals_panel_mic')}.monitor"
    config = tmp_path / "config"
    path = config / "backdrop" / "settings.json"
    camera = media.make_video(tmp_path / "camera.mp4", frames=60, audio=False)
    settings_store.save(LiveSettings(camera=str(camera), size=(320, 240), background="blur", mic=mic),
                        PanelSettings(), path)
    os.utime(path, (1e9, 1e9))
    env = dict(os.environ, XDG_CONFIG_HOME=str(config), QT_QPA_PLATFORM="offscreen")
    proc = start(env=env)
    if mic != "none":
        wait_for(lambda: _modules_named("backdrop_mic"), "virtual microphone", proc)
    else:
        time.sleep(4)
    proc.send_signal(signum)
    rc, stderr = finish(proc)
    assert rc == STATUS[signum], stderr
    assert "Traceback" not in stderr and len(stop_lines(stderr)) == 1, stderr
    assert path.stat().st_mtime > 1e9 + 1, "settings saved"
    assert settings_store.load(path).live.camera == str(camera)
    if mic != "none":
        assert _modules_named("backdrop_mic") == [], "session closed: the virtual microphone is removed"
