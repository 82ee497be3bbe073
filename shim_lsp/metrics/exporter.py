"""The one exporter per machine: every window's figures from the metrics folder.

A window that exits drops its live gauges itself (``recorder.process_exiting``). A window that
was killed cannot: at collection, the files of every window whose pid is gone are folded into
the archive (``archive.compact``): its live gauges dropped, its counters and histograms added
to the archive's, so totals survive exits and crashes and the folder stays small.
"""

from __future__ import annotations

import glob
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.samples import Sample

from shim_lsp.metrics import archive

log = logging.getLogger(__name__)

WINDOWS = "shim_windows"


def _merge(files: list[str]) -> list[Metric]:
    return list(MultiProcessCollector.merge(files, accumulate=True))  # type: ignore[no-untyped-call]


def merged_files(folder: Path) -> tuple[list[Metric], list[tuple[str, str]]]:
    """The windows' figures from the folder's metric files, and the files left out with why:
    a link (never followed: it may lead out of the state folder) or anything not a regular
    file, and a file prometheus_client cannot parse (left empty by a full disk, damaged),
    which would otherwise fail every scrape. Each file is parsed once while all are sound."""
    with archive.locked(folder, exclusive=False):
        return _merged_files(folder)


def _merged_files(folder: Path) -> tuple[list[Metric], list[tuple[str, str]]]:
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


def compact(folder: Path) -> archive.Compacted:
    return archive.compact(folder, archive.alive)


class WindowsCollector:
    """The folder's windows, merged as MultiProcessCollector merges them, after the dead
    windows are folded into the archive and files that cannot be read are set aside (said
    once). No window running reads as 0 windows, not as nothing."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._told: set[str] = set()

    def _tell(self, name: str, why: str) -> None:
        if name not in self._told:
            self._told.add(name)
            log.warning("SHIM metrics: %s left out: %s", name, why)

    def collect(self) -> Iterable[Metric]:
        try:
            compact(self.folder)
        except Exception as exc:  # a damaged archive, a full disk: the figures still come
            self._tell(str(self.folder / archive.MANIFEST), f"dead windows not folded: {exc}")
        metrics, bad = merged_files(self.folder)
        for name, why in bad:
            self._tell(name, why)
        if not any(m.name == WINDOWS for m in metrics):
            windows = Metric(WINDOWS, "SHIM servers running (editor windows and AI chats)", "gauge")
            windows.samples.append(Sample(WINDOWS, {}, 0.0))
            metrics.append(windows)
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


def families(folder: Path) -> dict[str, Any]:
    """Every sample by family: ``{name: value or {label: value}}``. Histograms show their
    count and sum; a labelled family is keyed ``name=value,...``."""
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
