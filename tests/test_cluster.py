"""Batches over Ray (`app.engine.files.cluster`), on a real local cluster started here with
`ray start --head` (2 CPUs, a free port, its own temporary folder and token): the outputs
are the local pool's image for image, in place and streamed (also to actors found not to
see the folders); a worker killed with SIGKILL during a batch loses nothing; a stop midway
leaves no temporary file; no cluster, a bad address and no Ray are each one line."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.media import leftovers, read_image

from app.engine.core.errors import InputError
from app.engine.core.processes import process_running
from app.engine.files.batch import run_jobs
from app.engine.files.cutout import RemoveJob, RemoveResult, remove_one
from app.engine.files.review import prepare_review
from app.engine.matting.presets import MatteSettings

ray = pytest.importorskip("ray")

from app.engine.files import cluster  # noqa: E402  (after the skip: it needs ray to run)

pytestmark = pytest.mark.timeout(300)
SIZE = (160, 120)
PHOTOS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_pids(sid: int) -> list[int]:
    """The live processes (zombies aside) of session `sid`."""
    out = subprocess.run(["ps", "-eo", "pid=,sid=,stat="], capture_output=True, text=True).stdout
    return [int(pid) for pid, s, stat in (line.split() for line in out.splitlines())
            if int(s) == sid and not stat.startswith("Z")]


def _gone(pid: int, wait: float = 10.0) -> bool:
    """Whether process `pid` ends (or is a zombie, waiting for its parent) within `wait` s."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except OSError:
            return not process_running(pid)
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module", autouse=True)
def shipped_models_only(tmp_path_factory):
    """No fetched model, for the local pool and (the driver's BACKDROP_* settings go with
    the batch) for the Ray workers alike: both take the shipped ones."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BACKDROP_USER_MODELS", str(tmp_path_factory.mktemp("no-models")))
        yield


def _use_token_auth() -> None:
    """Make this process's Ray take RAY_AUTH_MODE and RAY_AUTH_TOKEN as they are now (Ray reads
    its settings once, at import; this is what its own `ray.init()` does when it turns on
    token authentication for a new cluster)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


@pytest.fixture(scope="module")
def head() -> str:
    """The address of a Ray head started for this module, with token authentication (a
    token of its own: it listens on every interface while the tests run)."""
    root = Path(tempfile.mkdtemp(prefix="bd-ray-"))  # short: Ray's socket paths must fit
    port, token = _free_port(), secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(XDG_DATA_HOME=str(root / "data"), XDG_CONFIG_HOME=str(root / "config"), RAY_USAGE_STATS_ENABLED="0",
               RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    mp = pytest.MonkeyPatch()
    mp.setenv("RAY_AUTH_MODE", "token")
    mp.setenv("RAY_AUTH_TOKEN", token)
    _use_token_auth()
    command = [str(Path(sys.executable).with_name("ray")), "start", "--head", "--num-cpus", "2", "--port", str(port),
               "--node-ip-address", "127.0.0.1", "--include-dashboard=false", "--disable-usage-stats",
               "--temp-dir", str(root / "ray")]
    starter = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = starter.communicate(timeout=120)
        assert starter.returncode == 0, out
        yield f"127.0.0.1:{port}"
    finally:
        # every process of that cluster is in the session `ray start` opened: end those, by id
        # (`ray stop` would end every Ray process of this user on the machine)
        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):  # (the GCS ignores SIGTERM)
            for pid in _session_pids(starter.pid):
                with suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while _session_pids(starter.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
        mp.undo()
        _use_token_auth()
        assert not _session_pids(starter.pid), "Ray processes left running"
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    """Six 160x120 photos: a coloured object on a textured background, each a little different."""
    folder = tmp_path_factory.mktemp("ray") / "photos"
    folder.mkdir()
    rng = np.random.default_rng(7)
    paths = []
    for i in range(PHOTOS):
        w, h = SIZE
        texture = rng.integers(0, 70, (h, w, 3)) + np.array([70, 120 + 5 * i, 80])
        img = cv2.GaussianBlur(texture.astype(np.uint8), (5, 5), 0)
        cv2.ellipse(img, (70 + 4 * i, 62), (34, 24 + i), 12 * i, 0, 360, (30, 40 + 25 * i, 215), -1)  # BGR
        cv2.rectangle(img, (60 + 3 * i, 40), (84 + 3 * i, 52), (240, 220, 30), -1)
        paths.append(folder / f"photo{i}.{'png' if i % 2 else 'jpg'}")
        assert cv2.imwrite(str(paths[-1]), img)
    return paths


def _jobs(photos: list[Path], out: Path, review: Path | None = None) -> list[RemoveJob]:
    out.mkdir(parents=True)
    if review is not None:
        prepare_review(review)
    return [RemoveJob(p, out / f"{p.stem}.png", "transparent", None, False, MatteSettings(), review=review)
            for p in photos]


@pytest.fixture(scope="module")
def local(photos, tmp_path_factory) -> list[RemoveResult]:
    """The same batch on the local process pool (2 workers)."""
    results = run_jobs(_jobs(photos, tmp_path_factory.mktemp("local") / "out"), 2)
    assert [r.status for r in results] == ["ok"] * PHOTOS, [r.note for r in results]
    return results


def _check_whole(results: list[RemoveResult], local: list[RemoveResult], out: Path) -> None:
    """One result per photo in input order, each output whole and the local run's image."""
    assert [Path(r.source).name for r in results] == [Path(r.source).name for r in local]
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(r.output).name for r in local), "nothing else"
    assert leftovers(out) == []
    for mine, theirs in zip(results, local):
        assert (mine.status, mine.subject, mine.confidence) == (theirs.status, theirs.subject, theirs.confidence)
        assert Path(mine.output) == out / Path(theirs.output).name
        image = read_image(Path(mine.output))
        assert image.shape == (SIZE[1], SIZE[0], 4)
        assert np.array_equal(image, read_image(Path(theirs.output))), mine.output


@pytest.mark.parametrize("stream", [False, True], ids=["shared-folders", "streamed-bytes"])
@pytest.mark.slow
def test_a_ray_batch_is_the_local_batch_image_for_image(head, photos, local, tmp_path, stream):
    out, review, seen = tmp_path / "out", tmp_path / "review", []
    results = cluster.run_jobs_on_ray(_jobs(photos, out, review), head, seen.append, stream=stream)
    _check_whole(results, local, out)
    assert sorted(r.source for r in seen) == sorted(r.source for r in results), "on_result saw each once"
    for r in results:  # the review page's thumbnails, where the driver keeps them
        assert r.thumbs is not None and (review / r.thumbs.original).is_file() and (review / r.thumbs.cutout).is_file()
    assert leftovers(review) == []
    assert not ray.is_initialized(), "the driver left the cluster"


class _ElsewherePool(cluster.RayPool):
    """Its actors are told of a staging folder they cannot see, as on a machine that does not
    share the folders: each must say so and be sent the bytes."""

    def _submit(self, job, slot, stream):
        if stream or slot.streamed:
            return super()._submit(job, slot, stream)
        return slot.actor.remove.remote(job, f"{self.staging[job.target.parent]}-elsewhere", 0, None)


@pytest.mark.slow
def test_actors_that_do_not_see_the_folders_are_sent_bytes(head, photos, local, tmp_path):
    out, broken = tmp_path / "out", tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00 cut off here")
    jobs = _jobs([*photos, broken], out)
    assert cluster.connect(head)
    try:
        pool = _ElsewherePool(2)
        try:
            results = pool.run(jobs)
        finally:
            pool.close()
    finally:
        ray.shutdown()
    assert all(slot.streamed for slot in pool.slots)
    _check_whole(results[:-1], local, out)
    failed = remove_one(jobs[-1])  # a bad photo: the same one line as here, naming the driver's path
    assert (results[-1].status, results[-1].output, results[-1].note) == ("failed", "", failed.note)
    assert str(broken) in failed.note


class _CrashingWorker(cluster.PhotoWorker):
    """Dies on photo2, every time (as a crash in native code would)."""

    def remove(self, job, staging, size, data):
        if job.source.stem == "photo2":
            os._exit(1)
        return super().remove(job, staging, size, data)


@pytest.mark.slow
def test_a_photo_that_kills_its_worker_every_time_fails_alone(head, photos, local, tmp_path, monkeypatch):
    out = tmp_path / "out"
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this file
    monkeypatch.setattr(cluster, "PhotoWorker", _CrashingWorker)
    try:
        results = cluster.run_jobs_on_ray(_jobs(photos, out), head)
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert [r.status for r in results] == ["ok", "ok", "failed", "ok", "ok", "ok"], [r.note for r in results]
    assert results[2].note.startswith(f"{photos[2]}: the Ray worker cutting it out died (")
    assert "\n" not in results[2].note
    others = [r for i, r in enumerate(results) if i != 2]
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(r.output).name for r in others)
    assert leftovers(out) == []


@pytest.mark.slow
def test_a_worker_killed_midway_loses_nothing(head, photos, local, tmp_path):
    out, killed = tmp_path / "out", []
    assert cluster.connect(head)
    try:
        pool = cluster.RayPool(2)
        pids = ray.get([slot.actor.pid.remote() for slot in pool.slots])

        def kill_one(result: RemoveResult) -> None:
            if not killed:  # every photo was sent at once (depth 3): each actor has 2 or 3 to go
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        try:
            results = pool.run(_jobs(photos, out), kill_one, depth=3)
            restarted = ray.get(pool.slots[0].actor.pid.remote())
        finally:
            pool.close()
    finally:
        ray.shutdown()
    assert killed and _gone(killed[0])
    assert restarted != killed[0], "Ray started the actor again"
    assert [r.status for r in results] == ["ok"] * PHOTOS, [r.note for r in results]
    _check_whole(results, local, out)


@pytest.mark.slow
def test_a_stop_midway_leaves_only_whole_outputs(head, photos, local, tmp_path):
    out, seen = tmp_path / "out", []

    def stop(result: RemoveResult) -> None:
        seen.append(result)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cluster.run_jobs_on_ray(_jobs(photos, out), head, stop)
    assert not ray.is_initialized()
    assert [p.name for p in out.iterdir()] == [Path(seen[0].output).name], "the one finished, nothing else"
    assert leftovers(out) == []
    index = [r.source for r in local].index(seen[0].source)
    assert np.array_equal(read_image(out / Path(seen[0].output).name), read_image(Path(local[index].output)))


def test_no_cluster_there_is_one_line(monkeypatch):
    port = _free_port()
    with pytest.raises(InputError) as err:
        cluster.connect(f"127.0.0.1:{port}")
    assert str(err.value).startswith(f"127.0.0.1:{port}: no Ray head answers there") and "\n" not in str(err.value)
    with pytest.raises(InputError, match="not a Ray address"):
        cluster.connect("127.0.0.1:http")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(InputError, match=r"pip install backdrop\[cluster\]"):
        cluster.run_jobs_on_ray([RemoveJob(Path("a.png"), Path("b.png"), "transparent", None, False,
                                           MatteSettings())], None)


def test_remove_on_a_cluster_that_is_not_there_is_one_line_and_no_folder(photos, tmp_path):
    from support.media import run_cli

    out = tmp_path / "out"
    result = run_cli("remove", photos[0].parent, "-o", out, "--ray=127.0.0.1:1", timeout=60)
    assert result.rc == 1, result.stderr
    assert len(result.error_lines) == 1 and "127.0.0.1:1" in result.error_lines[0], result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_remove_ray_writes_the_batch_report_and_review_page(head, photos, tmp_path):
    from support.media import run_cli

    out, report, review = tmp_path / "out", tmp_path / "report.csv", tmp_path / "review"
    result = run_cli("remove", photos[0].parent, "-o", out, "--report", report, "--review", review,
                     "--edges", "fast", f"--ray={head}", timeout=240)  # (the head's token is in the environment)
    assert result.rc == 0, result.stderr
    assert sorted(p.stem for p in out.iterdir()) == sorted(p.stem for p in photos)
    assert len(report.read_text().splitlines()) == PHOTOS + 1
    assert (review / "index.html").read_text().count("<article") == PHOTOS
