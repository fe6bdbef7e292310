"""The allocator tuning that keeps frame-sized buffers in the process (app/engine/memory.py)."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from app.engine.core.memory import keep_freed_buffers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator is tuned on Linux only")
def test_freed_frame_buffers_are_reused_instead_of_faulted_in_again():
    import resource

    assert keep_freed_buffers() is True
    assert keep_freed_buffers() is True  # once per process; a second call changes nothing
    frame = np.full((1080, 1920, 3), 7, np.uint8)

    def one_frame() -> None:  # a blend's worth of full-frame results alive at once, then freed
        held = [cv2.add(frame, frame) for _ in range(5)]
        del held

    one_frame()  # the heap grows to hold them
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        one_frame()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    pages_per_frame = frame.nbytes // 4096  # untuned, glibc faults ~40,000 pages in here
    assert faults < pages_per_frame, f"{faults} page faults for 20 frames of {pages_per_frame} pages"
