"""The one exporter per machine: every window's figures from the metrics folder.

A window that exits drops its live gauges itself (``recorder.process_exiting``). A window that
was killed cannot: its live-gauge files are dropped here, at collection, once its pid is gone.
Counters and histograms of every window stay, so totals survive exits and crashes.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process holds that pid: not ours, but alive
    return True


def drop_dead_windows(folder: Path) -> list[int]:
    """Remove the live-gauge files of windows whose process is gone; the pids dropped."""
    dropped = []
    for name in glob.glob(str(folder / "gauge_live*_*.db")):
        found = LIVE_FILE.search(os.path.basename(name))
        if found is None or _alive(int(found.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):  # another exporter was first
            os.remove(name)
        dropped.append(int(found.group(1)))
    return dropped


def _merge(files: list[str]) -> list[Metric]:
    merged: list[Metric] = MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
    return merged


def merged_files(folder: Path) -> tuple[list[Metric], list[tuple[str, str]]]:
    """The windows' figures from the folder's metric files, and the files left out with why:
    a link (never followed: it may lead out of the state folder) or anything not a regular
    file, and a file prometheus_client cannot parse (left empty by a full disk, damaged),
    which would otherwise fail every scrape. Each file is parsed once while all are sound."""
    regular: list[str] = []
    bad: list[tuple[str, str]] = []
    for name in sorted(glob.glob(str(folder / "*.db"))):
        try:
            st = os.lstat(name)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode):
            regular.append(name)
        else:
            bad.append((name, "not a regular file (a link or a folder): not read"))
    try:
        return _merge(regular), bad
    except Exception:  # struct.error, UnicodeDecodeError, OSError...: find which file
        good = []
        for name in regular:
            try:
                _merge([name])
            except Exception as exc:
                bad.append((name, f"cannot be read as metrics: {exc}"))
            else:
                good.append(name)
        return _merge(good), bad


class WindowsCollector:
    """The folder's windows, merged as MultiProcessCollector merges them, after the dead
    windows' gauges are dropped and files that cannot be read are set aside (said once)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._told: set[str] = set()

    def collect(self) -> Iterable[Metric]:
        drop_dead_windows(self.folder)
        metrics, bad = merged_files(self.folder)
        for name, why in bad:
            if name not in self._told:
                self._told.add(name)
                log.warning("SHIM metrics: %s left out: %s", name, why)
        return metrics


def registry(folder: Path) -> CollectorRegistry:
    if not folder.is_dir():
        raise FileNotFoundError(f"no SHIM metrics at {folder}: no window has recorded any yet")
    reg = CollectorRegistry(auto_describe=False)
    reg.register(WindowsCollector(folder))
    return reg


def exposition(folder: Path) -> bytes:
    return generate_latest(registry(folder))


def serve(folder: Path, host: str, port: int) -> tuple[Any, Any]:
    """Start the HTTP exporter (prometheus_client's own server); returns (server, thread)."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=host, registry=registry(folder))


def samples(folder: Path) -> Iterator[tuple[str, dict[str, str], float]]:
    for metric in registry(folder).collect():
        for s in metric.samples:
            yield s.name, dict(s.labels), s.value


def summary(folder: Path) -> dict[str, Any]:
    """The figures a person asks about, by family: ``{name: value or {label: value}}``.
    Histograms show their count and sum; a labelled family is keyed ``name=value,...``."""
    out: dict[str, Any] = {}
    for name, labels, value in samples(folder):
        if name.endswith("_bucket") or name.endswith("_created"):
            continue
        if not labels:
            out[name] = value
            continue
        key = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        out.setdefault(name, {})[key] = value
    return dict(sorted(out.items()))
