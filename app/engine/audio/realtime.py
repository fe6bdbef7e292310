"""Audio callbacks on a busy machine: `make_this_thread_realtime` asks the OS for a
real-time slot for the calling thread, and quietly keeps the normal priority where it is
refused. See docs/audio.md.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("backdrop.audio")

PRIORITY_ABOVE_MIN = 10  # below PulseAudio/PipeWire's own threads (which use more), above everything normal
_done: set[int] = set()
_lock = threading.Lock()


def make_this_thread_realtime() -> bool:
    """Once per thread: SCHED_FIFO for the calling thread if allowed. True if it now has it."""
    tid = threading.get_native_id()
    with _lock:
        if tid in _done:
            return False
        _done.add(tid)
    if not hasattr(os, "sched_setscheduler"):
        return False
    try:
        low = os.sched_get_priority_min(os.SCHED_FIFO)
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(low + PRIORITY_ABOVE_MIN))
        return True
    except (OSError, PermissionError) as exc:
        log.debug("audio: no real-time priority for the audio thread (%s)", exc)
        return False
