"""Which process a pid is: a pid is reused once its process ends, its start time is not."""

from __future__ import annotations

import psutil


def process_start_time(pid: int) -> float | None:
    """When the process ``pid`` started (seconds since the epoch); None if there is none."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None
