"""When to take an automatic checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

from shim_lsp.settings import Settings


@dataclass(frozen=True)
class Clock:
    now: float
    last_checkpoint_at: float
    last_edit_at: float | None
    changed_since_checkpoint: bool
    has_dirty: bool
    last_scan_at: float


def due(clock: Clock, settings: Settings) -> str | None:
    """The reason an automatic checkpoint is due now, or None."""
    if not settings.auto_checkpoint:
        return None
    if clock.now - clock.last_scan_at >= settings.full_scan_interval:
        return "scan"
    if not clock.changed_since_checkpoint:
        return None
    if clock.now - clock.last_checkpoint_at >= settings.checkpoint_interval:
        return "interval"
    if (
        clock.has_dirty
        and clock.last_edit_at is not None
        and clock.last_edit_at > clock.last_checkpoint_at
        and clock.now - clock.last_edit_at >= settings.idle_checkpoint_delay
    ):
        return "idle"
    return None
