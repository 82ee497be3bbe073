"""Sampling what puts unsaved work at risk, about once a second, and scoring it.

The session engine hands in what it knows (buffers, the writer's state); this module keeps
the memory samples over time and the alarm's episode, and knows nothing of checkpoints.
"""

from __future__ import annotations

import shutil
import time
from collections import deque
from collections.abc import Collection
from pathlib import Path

import psutil

from shim_lsp.journal.writer import WriterStatus
from shim_lsp.session.buffers import BufferTracker
from shim_lsp.settings import Settings
from shim_lsp.signals.model import Alarm, Assessment, Measurements, assess

RSS_WINDOW_S = 300.0
"""Memory growth is measured over this window (and only once it spans 30 s)."""


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


class RiskMonitor:
    def __init__(self, state_dir: Path) -> None:
        self._state_dir = state_dir
        self._rss: deque[tuple[float, int]] = deque()
        self._process = psutil.Process()
        self.alarm = Alarm()
        self.last: Assessment | None = None
        self.checkpoint_due = False
        """High risk was raised while a checkpoint ran: a risk checkpoint follows it."""

    def measure(
        self,
        buffers: BufferTracker,
        writer: WriterStatus,
        *,
        held: int,
        unprotected: Collection[str],
        client_alive: bool = True,
    ) -> Measurements:
        now = time.time()
        rss = int(self._process.memory_info().rss)
        self._rss.append((now, rss))
        while self._rss and now - self._rss[0][0] > RSS_WINDOW_S:
            self._rss.popleft()
        t0, r0 = self._rss[0]
        growth = (rss - r0) / (1024 * 1024) / ((now - t0) / 60) if now - t0 >= 30 else 0.0
        try:
            free: int | None = shutil.disk_usage(_existing_parent(self._state_dir)).free
        except OSError:
            free = None
        unsaved = buffers.unsaved(unprotected=unprotected)
        return Measurements(
            unsaved_bytes=unsaved.bytes,
            oldest_unsaved_age_s=now - unsaved.oldest if unsaved.oldest is not None else 0.0,
            unchecked_bytes=unsaved.unchecked_bytes,
            oldest_unchecked_age_s=(
                now - unsaved.oldest_unchecked if unsaved.oldest_unchecked is not None else 0.0
            ),
            edits_since_checkpoint=buffers.edits_since_checkpoint,
            rss_bytes=rss,
            rss_growth_mb_per_min=growth,
            client_alive=client_alive,
            journal_pending=writer.pending + held,
            journal_lag_s=writer.oldest_pending_age,
            disk_free_bytes=free,
            store_error=writer.error,
        )

    def sample(self, measurements: Measurements, settings: Settings) -> tuple[Assessment, bool]:
        """Score one sample; also whether it raised the alarm (a new episode of high risk)."""
        assessment = assess(measurements, settings)
        self.last = assessment
        return assessment, self.alarm.update(assessment)
