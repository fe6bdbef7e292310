"""Whether another process still runs: owners of leftovers (a virtual microphone, partial
outputs) are judged by the process id they left."""

from __future__ import annotations

import os


def process_running(pid: int) -> bool:
    """True while a process `pid` exists (also one of another user, which cannot be signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True
