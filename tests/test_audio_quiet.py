"""Third-party audio libraries keep off the terminal: alsa-lib's lines go to the debug log."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
from pathlib import Path

import pytest


ALSA_PROBE = """
import ctypes, ctypes.util, sys
sys.path.insert(0, {root!r})
if {route}:
    from app.engine.audio.alsa_quiet import route_alsa_messages
    assert route_alsa_messages()
lib = ctypes.CDLL(ctypes.util.find_library("asound"))
pcm = ctypes.c_void_p()
assert lib.snd_pcm_open(ctypes.byref(pcm), b"nosuchpcm", 0, 0) < 0
"""


@pytest.mark.skipif(ctypes.util.find_library("asound") is None, reason="no libasound (alsa-lib) here")
def test_alsa_lib_lines_go_to_the_log_not_the_terminal():
    root = str(Path(__file__).resolve().parents[1])
    loud = subprocess.run([sys.executable, "-c", ALSA_PROBE.format(root=root, route=False)],
                          capture_output=True, text=True, timeout=60)
    quiet = subprocess.run([sys.executable, "-c", ALSA_PROBE.format(root=root, route=True)],
                           capture_output=True, text=True, timeout=60)
    assert loud.returncode == 0 and "ALSA lib" in loud.stderr, "alsa-lib speaks up unless routed"
    assert quiet.returncode == 0 and "ALSA lib" not in quiet.stderr, quiet.stderr
