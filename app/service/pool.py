"""N worker processes behind a bounded queue.

Promises: at most `queue` requests are admitted at a time (waiting for a worker plus being
worked on); one more gets `QueueFull` at once, never a wait in memory. Each worker process
runs one order at a time, so no model session is shared between threads. An order not
done by its deadline raises `TimedOut`, and its worker is ended and replaced (a runaway
photo holds no worker); a worker that dies is replaced too. A worker counts as ready once
its default models are loaded."""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from app.engine.matting.models.onnx import usable_cores
from app.service.worker import worker_main

log = logging.getLogger("backdrop.serve")
RESTART_DELAY_S = 2.0  # between a worker failing to start and the next try
STOP_GRACE_S = 5.0


class QueueFull(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("queue full")
        self.retry_after_s = retry_after_s


class TimedOut(Exception):
    pass


class WorkerLost(Exception):
    pass


class Worker:
    """One worker process and the parent's end of its pipe (used by one thread at a time)."""

    def __init__(self, threads: int, warm_up: bool) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=worker_main, args=(child, threads, warm_up), daemon=True,
                                   name="backdrop-serve-worker")
        self.process.start()
        child.close()
        self.killed = False
        self.problems: list[str] = []

    def wait_ready(self) -> None:
        """Block until the worker has loaded its models (EOFError if it died first)."""
        _, _pid, self.problems = self.conn.recv()

    def call(self, message: tuple) -> dict:
        try:
            self.conn.send(message)
            return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            raise WorkerLost("the worker process stopped") from None

    def kill(self) -> None:
        self.killed = True
        self.process.kill()
        self.process.join(STOP_GRACE_S)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(STOP_GRACE_S)
        if self.process.is_alive():
            self.kill()


class WorkerPool:
    def __init__(self, workers: int, queue: int, warm_up: bool = True) -> None:
        self.size, self.queue_limit, self.warm_up = workers, queue, warm_up
        self.threads = max(1, usable_cores() // workers)  # each worker's share of the cores
        self.admitted = 0  # requests waiting or being worked on
        self.busy = 0
        self.ready: set[Worker] = set()
        self.mean_s = 1.0  # recent seconds per order (for Retry-After)
        self._idle: asyncio.Queue[Worker] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._calls = ThreadPoolExecutor(max_workers=workers + 4, thread_name_prefix="serve-call")
        self._closing = False

    @property
    def waiting(self) -> int:
        return max(0, self.admitted - self.busy)

    @property
    def problems(self) -> list[str]:
        return [p for w in list(self.ready) for p in w.problems]

    async def start(self) -> None:
        """Start the workers (they become ready in the background)."""
        self._loop, self._idle = asyncio.get_running_loop(), asyncio.Queue()
        for _ in range(self.size):
            self._launch()

    def _launch(self) -> None:
        threading.Thread(target=self._bring_up, name="serve-start", daemon=True).start()

    def _bring_up(self) -> None:
        while not self._closing:
            worker = Worker(self.threads, self.warm_up)
            try:
                worker.wait_ready()
            except (EOFError, OSError):
                log.warning("a service worker stopped while starting (exit %s); trying again", worker.process.exitcode)
                worker.kill()
                time.sleep(RESTART_DELAY_S)
                continue
            for problem in worker.problems:
                log.warning("service worker: %s", problem)
            if self._closing or self._loop is None:
                worker.stop()
                return
            self._loop.call_soon_threadsafe(self._add_ready, worker)
            return

    def _add_ready(self, worker: Worker) -> None:
        self.ready.add(worker)
        assert self._idle is not None
        self._idle.put_nowait(worker)

    def admit(self) -> None:
        """Count a request in (`release` counts it out); QueueFull, with a Retry-After, when full."""
        if self.admitted >= self.queue_limit:
            raise QueueFull(max(1, min(60, math.ceil(self.mean_s * self.admitted / self.size))))
        self.admitted += 1

    def release(self) -> None:
        self.admitted -= 1

    async def run(self, message: tuple, deadline: float) -> dict:
        """Run `message` on the next free worker; TimedOut past `deadline` (loop time)."""
        assert self._idle is not None and self._loop is not None
        getter = asyncio.ensure_future(self._idle.get())
        done, _ = await asyncio.wait({getter}, timeout=max(0.0, deadline - self._loop.time()))
        if not done:
            getter.cancel()
            try:
                worker = await getter  # it may have got one in the meantime
            except asyncio.CancelledError:
                raise TimedOut() from None
            self._idle.put_nowait(worker)
            raise TimedOut()
        worker = getter.result()
        self.busy += 1
        started = time.monotonic()
        call = self._loop.run_in_executor(self._calls, worker.call, message)
        call.add_done_callback(lambda f: self._finished(worker, f, started))
        done, _ = await asyncio.wait({call}, timeout=max(0.0, deadline - self._loop.time()))
        if not done:
            self._retire(worker, kill=True)
            raise TimedOut()
        return call.result()  # WorkerLost when the process died

    def _finished(self, worker: Worker, call: asyncio.Future | Future, started: float) -> None:
        self.busy -= 1
        if worker.killed or call.cancelled() or call.exception() is not None:
            self._retire(worker, kill=not worker.killed)
            return
        self.mean_s = 0.8 * self.mean_s + 0.2 * (time.monotonic() - started)
        assert self._idle is not None
        self._idle.put_nowait(worker)

    def _retire(self, worker: Worker, kill: bool) -> None:
        """End `worker` (not ready from now on) and start another in its place."""
        if worker not in self.ready:
            return
        self.ready.discard(worker)
        if kill:  # at once (SIGKILL, then a join of milliseconds): it writes nothing more after this
            worker.kill()
        if not self._closing:
            self._launch()

    def close(self) -> None:
        """Stop every worker (each finishes the order it is on, or is killed after a grace)."""
        self._closing = True
        workers = list(self.ready)
        self.ready.clear()
        stoppers = [threading.Thread(target=w.stop, daemon=True) for w in workers]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join(STOP_GRACE_S + 1)
        self._calls.shutdown(wait=False, cancel_futures=True)
