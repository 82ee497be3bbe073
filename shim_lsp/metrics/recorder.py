"""What the features call: cheap, never raising, and nothing at all while metrics are off.

``enable`` points prometheus_client's multiprocess mode at a folder of the state dir before
any metric exists (its value class is chosen when a metric is built). Each call after that is
an update of a memory-mapped file: no lock shared between windows, no I/O on the request path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from shim_lsp.metrics import archive
from shim_lsp.metrics.families import CHECKPOINT_REASONS, CODEMOD_OUTCOMES, Families

if TYPE_CHECKING:
    from shim_lsp.signals.model import Assessment

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FOLDER_NAME = "metrics"
LEVELS = {"low": 0, "elevated": 1, "high": 2}

_families: Families | None = None
_folder: Path | None = None
_on = False
_lost: str | None = None
"""Why this window stopped recording for good (its files were deleted under it)."""
_refused: str | None = None
"""Why this window records no metrics at all (said once, when it was found)."""


class LinkedFolder(OSError):
    """The metrics folder is a link or not a folder: writing there could land anywhere."""


def metrics_dir(state_dir: Path) -> Path:
    """The one folder every window of this user writes into, and the exporter reads."""
    return state_dir / FOLDER_NAME


def private_folder(folder: Path) -> Path:
    """Create the folder for this user alone (0700): figures say what the user works on. A
    link there (or a file) is refused, never followed: SHIM writes only in its state folder."""
    with contextlib.suppress(FileExistsError):  # a dangling link, a file: said just below
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    refuse_odd(folder)
    os.chmod(folder, 0o700)
    return folder


def refuse_odd(folder: Path) -> None:
    """Raise LinkedFolder if ``folder`` is a link or anything but a folder: every command
    that reads or writes there says the same."""
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode):
        raise LinkedFolder(
            f"{folder} is a symbolic link (to {os.readlink(folder)}); SHIM writes metrics only"
            " inside its state folder: remove the link"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise LinkedFolder(f"{folder} is not a folder; remove it for SHIM to record metrics")


def enable(state_dir: Path) -> str | None:
    """Start recording into ``state_dir``'s metrics folder; a problem comes back worded, and
    SHIM goes on without metrics. A refusal is said once: this window then records nothing."""
    global _families, _on, _refused
    if _lost is not None or _refused is not None:
        return None  # said when it happened: a settings change does not say it again
    if _families is not None:
        _on = True
        return None
    global _folder
    previous = os.environ.get(MULTIPROC_ENV)
    try:
        folder = private_folder(metrics_dir(state_dir))
        from prometheus_client import values

        # prometheus_client reads the folder from the environment as each value is made;
        # every value is made here (the label sets are closed), and the variable is taken
        # back so that the tools SHIM starts (ruff, mypy, codemod workers) do not inherit it.
        os.environ[MULTIPROC_ENV] = str(folder)
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
        # Shared: a compaction (exclusive) never folds a dead window of this pid while this
        # window makes its files.
        with archive.locked(folder, exclusive=False):
            _families = Families()
            _families.windows.set(1)
            with contextlib.suppress(OSError):  # without it, the pid alone says it runs
                archive.note_start(folder)
        _folder = folder
        threading.Thread(
            target=archive.compact_quietly, args=(folder,), name="shim-metrics", daemon=True
        ).start()
    except LinkedFolder as exc:
        _refused = f"SHIM's metrics are off for this window: {exc}"
        return _refused
    except (OSError, ValueError) as exc:
        _refused = (
            f"SHIM's metrics are off for this window: cannot write {metrics_dir(state_dir)}: {exc}"
        )
        return _refused
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
    _on = True
    return None


def pause() -> None:
    """The setting turned off: record nothing more, and this window's figures of the moment
    (it counted as a window, its memory, store, findings, coordination) are gone from the
    folder at once, not frozen at their last values; the totals stay. Turned on again, the
    families are built anew: counters read their totals back, live gauges start afresh."""
    global _on, _families
    if _on:
        process_exiting()
    _families = None
    _on = False


def active() -> Families | None:
    return _families if _on else None


def process_exiting() -> None:
    """This window's live gauges go with it (mark_process_dead); counters keep their totals."""
    if _families is None or _folder is None:
        return
    try:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid(), str(_folder))  # type: ignore[no-untyped-call]
    except OSError as exc:
        log.warning("could not drop this window's metrics: %s", exc)


def _reason(reason: str) -> str:
    return reason if reason in CHECKPOINT_REASONS else "other"


def _files_gone() -> bool:
    """This window's files were deleted under it (the folder removed, a cleanup): its figures
    would go nowhere. Said once in the log, and this window records no more (recreating
    them would lose its totals anyway); the next window records again."""
    global _on, _lost
    if _folder is None or (_folder / f"gauge_livesum_{os.getpid()}.db").exists():
        return False
    _lost = (
        f"SHIM's metrics folder {_folder} (or this window's files in it) was deleted: this"
        " window records no more metrics; windows started from now on do"
    )
    log.warning("%s", _lost)
    _on = False
    return True


def assessment(a: Assessment, store_bytes: int | None) -> None:
    """The once-a-second figures: unsaved work, journal, risk, memory, store size."""
    f = active()
    if f is None or _files_gone():
        return
    m = a.measurements
    f.unsaved_bytes.set(m.unsaved_bytes)
    f.unsaved_age.set(m.oldest_unsaved_age_s)
    unchecked = m.unsaved_bytes if m.unchecked_bytes is None else m.unchecked_bytes
    f.unchecked_bytes.set(unchecked)
    age = m.oldest_unsaved_age_s if m.oldest_unchecked_age_s is None else m.oldest_unchecked_age_s
    f.unchecked_age.set(age if unchecked else 0.0)
    f.journal_lag.set(m.journal_lag_s)
    f.journal_pending.set(m.journal_pending)
    f.risk_score.set(a.score)
    f.risk_level.set(LEVELS.get(a.level, 0))
    f.rss.set(m.rss_bytes)
    if store_bytes is not None:
        f.store_size.set(store_bytes)


def checkpoint(reason: str, seconds: float, size: int | None, created_at: float | None) -> None:
    """A checkpoint ended: ``size`` None means it failed."""
    f = active()
    if f is None:
        return
    why = _reason(reason)
    f.checkpoints.labels(why, "failed" if size is None else "ok").inc()
    if size is None:
        f.store_errors.labels("checkpoint").inc()
        return
    f.checkpoint_seconds.labels(why).observe(seconds)
    f.checkpoint_bytes.observe(size)
    if created_at is not None:
        f.last_checkpoint.set(created_at)


def store_error(operation: str) -> None:
    f = active()
    if f is not None:
        f.store_errors.labels(operation).inc()


def recovery(outcome: str, count: int = 1) -> None:
    f = active()
    if f is not None and count > 0:
        f.recoveries.labels(outcome).inc(count)


def lost_edits(reason: str, count: int) -> None:
    """Edits of crashed work not given back (``families.LOST_REASONS`` says why)."""
    f = active()
    if f is not None and count > 0:
        f.lost_edits.labels(reason).inc(count)


def codemod(outcome: str, seconds: float) -> None:
    f = active()
    if f is None:
        return
    f.codemod_runs.labels(outcome if outcome in CODEMOD_OUTCOMES else "failed").inc()
    f.codemod_seconds.observe(seconds)


def analysis(name: str, seconds: float) -> None:
    f = active()
    if f is not None:
        f.analysis_seconds.labels(name).observe(seconds)


def findings(name: str, shown: int) -> None:
    """The findings of one analysis that the editor shows now, in every file."""
    f = active()
    if f is not None:
        f.analysis_findings.labels(name).set(shown)


def coordination(*, configured: bool, connected: bool, leader: bool) -> None:
    f = active()
    if f is None:
        return
    f.coordination_up.set(1 if connected else 0)
    f.coordination_degraded.set(1 if configured and not connected else 0)
    f.coordination_leader.set(1 if leader else 0)


def queue_depth(waiting: int, active_jobs: int) -> None:
    """The group queue as its leader last saw it; a window that does not lead says 0."""
    f = active()
    if f is not None:
        f.queue_jobs.labels("waiting").set(waiting)
        f.queue_jobs.labels("active").set(active_jobs)


def job(event: str) -> None:
    f = active()
    if f is not None:
        f.jobs.labels(event).inc()


def mcp_call(ok: bool) -> None:
    f = active()
    if f is not None:
        f.mcp_calls.labels("ok" if ok else "failed").inc()
