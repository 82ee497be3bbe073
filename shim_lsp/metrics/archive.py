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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict

log = logging.getLogger(__name__)

LOCK = ".lock"
MANIFEST = ".compaction.json"
ARCHIVE = "archive"
FILE = re.compile(r"^(counter|histogram|gauge_([a-z]+))_(\d+)\.db$")
"""A window's file: its kind (with a gauge's multiprocess mode) and its pid."""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process holds that pid: not ours, but alive
    return True


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
    """What one compaction did: pids folded, files deleted, files it could not read."""

    pids: set[int] = field(default_factory=set)
    deleted: int = 0
    unreadable: list[str] = field(default_factory=list)


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _read(path: Path) -> list[tuple[str, float, float]]:
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


def compact(folder: Path, alive: Callable[[int], bool]) -> Compacted:
    """Fold the files of every window whose process is gone into the archive, and delete
    them. A file that cannot be read is left where it is (the exporter says so)."""
    done = Compacted()
    with locked(folder, exclusive=True) as held:
        if not held:
            return done
        _finish(folder)
        folding: dict[str, list[str]] = {}
        delete: list[str] = []
        for name in sorted(os.listdir(folder)):
            found = FILE.match(name)
            if found is None or not _regular(folder / name) or alive(int(found.group(3))):
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
                _fold(merged, _read(folder / final), mode)
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
