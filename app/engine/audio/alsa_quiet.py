"""alsa-lib writes its own lines to the terminal ("ALSA lib pcm.c:...: underrun occurred",
unknown PCMs while PortAudio looks for devices). `route_alsa_messages()` sends them to the
"backdrop.alsa" debug log instead, for the whole process; where there is no libasound it
does nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("backdrop.alsa")

# void handler(const char *file, int line, const char *function, int err, const char *fmt, ...)
_HANDLER_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)


def _to_log(file: bytes | None, line: int, function: bytes | None, err: int, fmt: bytes | None) -> None:
    log.debug("alsa-lib %s:%d (%s) error %d: %s", (file or b"").decode(errors="replace"), line,
              (function or b"").decode(errors="replace"), err, (fmt or b"").decode(errors="replace"))


_handler = _HANDLER_TYPE(_to_log)  # kept for the life of the process: alsa-lib holds the pointer
_routed = False


def route_alsa_messages() -> bool:
    """Install the handler once; True if alsa-lib is there and now quiet."""
    global _routed
    if _routed:
        return True
    name = ctypes.util.find_library("asound")
    if name is None:
        return False
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return False
    lib.snd_lib_error_set_handler(_handler)
    _routed = True
    return True
