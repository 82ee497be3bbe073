"""Folding dead windows' metric files into one archive, so the folder stops growing.

prometheus_client's multiprocess mode leaves a counter, a histogram and a gauge file behind
per process for ever (it has no helper to merge them): 1000 dead windows made a scrape take
0.70 s. Here a dead window's counters, histograms and non-live gauges are added into one
``<kind>_archive.db`` per kind, written with prometheus_client's own ``MmapedDict`` (its file
format), and its files are deleted; its live gauges are simply dropped. Totals are unchanged.

Every step runs under an exclusive ``flock`` of the folder's ``.lock``; readers (a scrape, a
window creating its files) take it shared, so no one sees a window both folded and still
there. A compaction killed midway is finished by the next: the new archives are written
beside the old ones, then a manifest names what to rename and delete, then that is done,
then the manifest goes; a manifest found at the start is carried out first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import stat
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict

from shim_lsp.process import process_start_time

log = logging.getLogger(__name__)

LOCK = ".lock"
MANIFEST = ".compaction.json"
ARCHIVE = "archive"
FILE = re.compile(r"^(counter|histogram|gauge_([a-z]+))_(\d+)\.db$")
"""A window's file: its kind (with a gauge's multiprocess mode) and its pid."""
STARTED = re.compile(r"^started_(\d+)$")
"""A window's start time (``started_<pid>``): tells that window from a later process that
was given its pid after it was killed."""


def note_start(folder: Path) -> None:
    """Written by a window as it starts recording: its own start time, beside its files."""
    path = folder / f"started_{os.getpid()}"
    path.unlink(missing_ok=True)  # never written through a link
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(repr(process_start_time(os.getpid())))


def _noted_start(folder: Path, pid: int) -> float | None:
    path = folder / f"started_{pid}"
    if not _regular(path):
        return None  # a window of an older SHIM: its pid alone decides
    try:
        return float(path.read_text()[:64])
    except (OSError, ValueError):
        return None


def alive(pid: int, folder: Path | None = None) -> bool:
    """The window of this pid still runs: its pid is taken, and (when the window noted its
    start time in ``folder``) by the same process, not one given the pid since."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process holds that pid: not ours, but alive
    noted = None if folder is None else _noted_start(folder, pid)
    if noted is None:
        return True
    now = process_start_time(pid)
    return now is None or abs(now - noted) < 0.01


def compact_quietly(folder: Path) -> None:
    """A compaction off the caller's path (a window starting): a failure is only logged."""
    try:
        compact(folder, alive)
    except Exception as exc:
        log.info("metrics: dead windows not folded: %s", exc)


@contextlib.contextmanager
def locked(folder: Path, *, exclusive: bool) -> Iterator[bool]:
    """Hold the folder's lock; yields False (and goes on unlocked) when it cannot be taken:
    a reader still reads. The lock file is never followed if it is a link."""
    try:
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        log.debug("metrics folder lock not taken: %s", exc)
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield True
    finally:
        os.close(fd)


@dataclass
class Compacted:
    """What one compaction did: pids folded, files deleted, files it could not read, and
    damaged archives moved aside (each as ``(archive, where it now is)``)."""

    pids: set[int] = field(default_factory=set)
    deleted: int = 0
    unreadable: list[str] = field(default_factory=list)
    set_aside: list[tuple[str, str]] = field(default_factory=list)


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _read(path: Path) -> list[tuple[str, float, float]]:
    """A metrics file's values. Its header (the length used) is checked first: random bytes
    whose header reads as negative would otherwise pass as an empty file, silently."""
    with open(path, "rb") as f:
        head = f.read(4)
        end = f.seek(0, os.SEEK_END)
    used = struct.unpack("i", head)[0] if len(head) == 4 else -1
    if not 8 <= used <= end:
        raise ValueError(f"{path.name} has no valid header")
    return [(k, v, ts) for k, v, ts, _pos in MmapedDict.read_all_values_from_file(str(path))]  # type: ignore[no-untyped-call]


def _fold(
    into: dict[str, tuple[float, float]], values: list[tuple[str, float, float]], mode: str
) -> None:
    """Add one window's values into the archive's, as the collector merges windows."""
    for key, value, ts in values:
        if key not in into:
            into[key] = (value, ts)
            continue
        old, old_ts = into[key]
        if mode == "max":
            into[key] = (max(old, value), 0.0)
        elif mode == "min":
            into[key] = (min(old, value), 0.0)
        elif mode == "mostrecent":
            into[key] = (value, ts) if ts >= old_ts else (old, old_ts)
        else:  # counters, histograms (their buckets are kept uncumulated), sum gauges
            into[key] = (old + value, 0.0)


def _write(path: Path, values: dict[str, tuple[float, float]]) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
    archive = MmapedDict(str(path))  # type: ignore[no-untyped-call]
    try:
        for key, (value, ts) in values.items():
            archive.write_value(key, value, ts)  # type: ignore[no-untyped-call]
    finally:
        archive.close()  # type: ignore[no-untyped-call]
    os.chmod(path, 0o600)


def _finish(folder: Path) -> None:
    """Carry out a manifest left by a compaction (idempotent), and drop unfinished archives."""
    manifest = folder / MANIFEST
    if _regular(manifest):
        plan = json.loads(manifest.read_text())
        for tmp, final in plan["rename"]:
            if _regular(folder / tmp):
                os.replace(folder / tmp, folder / final)
        for name in plan["delete"]:
            with contextlib.suppress(FileNotFoundError):
                os.remove(folder / name)
        os.remove(manifest)
    for tmp in folder.glob(f"*_{ARCHIVE}.db.tmp"):
        os.remove(tmp)


def damaged_name(archive: str) -> str:
    """Where a damaged archive is kept for the user: out of the ``*.db`` every reader reads."""
    return f"{archive}.damaged-{time.strftime('%Y%m%dT%H%M%S')}"


def compact(folder: Path, alive: Callable[[int, Path], bool]) -> Compacted:
    """Fold the files of every window whose process is gone into the archive, and delete
    them. A file that cannot be read is left where it is (the exporter says so); an archive
    that cannot be read is moved aside (kept, said) and a new one is begun: its totals are
    lost from the figures, but dead windows are folded again rather than piling up."""
    done = Compacted()
    with locked(folder, exclusive=True) as held:
        if not held:
            return done
        _finish(folder)
        folding: dict[str, list[str]] = {}
        delete: list[str] = []
        for name in sorted(os.listdir(folder)):
            started = STARTED.match(name)
            if started is not None and not alive(int(started.group(1)), folder):
                delete.append(name)
            found = FILE.match(name)
            if found is None or not _regular(folder / name) or alive(int(found.group(3)), folder):
                continue
            kind, mode = found.group(1), found.group(2) or ""
            if mode.startswith("live"):
                delete.append(name)  # a dead window's gauges of the moment go with it
            elif mode != "all":  # "all" keeps a pid label: nothing to fold it into
                folding.setdefault(kind, []).append(name)
            done.pids.add(int(found.group(3)))
        rename: list[tuple[str, str]] = []
        for kind, names in folding.items():
            final = f"{kind}_{ARCHIVE}.db"
            merged: dict[str, tuple[float, float]] = {}
            mode = kind.removeprefix("gauge_") if kind.startswith("gauge_") else "sum"
            if _regular(folder / final):
                try:
                    _fold(merged, _read(folder / final), mode)
                except Exception:  # random bytes, emptied: kept aside, folding goes on
                    aside = damaged_name(final)
                    os.replace(folder / final, folder / aside)
                    done.set_aside.append((str(folder / final), str(folder / aside)))
            for name in names:
                try:
                    values = _read(folder / name)
                except Exception as exc:  # damaged, emptied by a full disk: left as it is
                    done.unreadable.append(f"{name}: {exc}")
                    continue
                _fold(merged, values, mode)
                delete.append(name)
            _write(folder / f"{final}.tmp", merged)
            rename.append((f"{final}.tmp", final))
        if not delete:
            return done
        tmp_manifest = folder / f"{MANIFEST}.tmp"
        tmp_manifest.write_text(json.dumps({"rename": rename, "delete": delete}))
        os.replace(tmp_manifest, folder / MANIFEST)
        _finish(folder)
        done.deleted = len(delete)
    return done
