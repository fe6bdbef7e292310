"""Keeping freed frame buffers in the process, so the next frame reuses them:
`keep_freed_buffers()` makes frame-sized buffers come from, and return to, the heap
(memory stays at its working-set peak). Why, with figures: docs/core.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger("backdrop.memory")

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit: above a 4K RGBA frame
TRIM_THRESHOLD = 64 * 1024 * 1024  # freed heap memory kept, per arena, before any is given back

_done = False


def keep_freed_buffers() -> bool:
    """Tune glibc's allocator once per process (Linux with glibc only; elsewhere a no-op).
    True when the thresholds are in effect."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    if not _done:
        log.info("the allocator's thresholds could not be set; frames will cost page faults")
    return _done
