"""The one exporter per machine: every window's figures from the metrics folder.

A window that exits drops its live gauges itself (``recorder.process_exiting``). A window that
was killed cannot: at collection, the files of every window whose pid is gone are folded into
the archive (``archive.compact``): its live gauges dropped, its counters and histograms added
to the archive's, so totals survive exits and crashes and the folder stays small.
"""

from __future__ import annotations

import functools
import glob
import logging
import os
import stat
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.samples import Sample

from shim_lsp.metrics import archive
from shim_lsp.metrics.recorder import private_folder

log = logging.getLogger(__name__)

WINDOWS = "shim_windows"


def _merge(files: list[str]) -> list[Metric]:
    return list(MultiProcessCollector.merge(files, accumulate=True))  # type: ignore[no-untyped-call]


KEPT = ".kept"
"""Inside the metrics folder: stand-ins for damaged files (no exporter reads below it)."""


def _totals(name: str) -> bool:
    """Counters and histograms: what a window's file adds to the machine's totals."""
    return os.path.basename(name).startswith(("counter_", "histogram_"))


def _snapshot(name: str) -> bytes | None:
    """The used part of a metrics file (its header says how long), read without following a
    link: what stands in for the file if it is damaged later."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        head = f.read(8)
        used = struct.unpack_from("i", head)[0] if len(head) == 8 else 0
        return head + f.read(used - 8) if used >= 8 else None


def _stand_in(folder: Path, name: str, data: bytes) -> str:
    """A damaged file's last good bytes, under the same name in the private ``.kept``."""
    path = private_folder(folder / KEPT) / os.path.basename(name)
    path.unlink(missing_ok=True)  # never written through a link
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return str(path)


def merged_files(
    folder: Path, kept: dict[str, bytes] | None = None
) -> tuple[list[Metric], list[tuple[str, str]]]:
    """The windows' figures from the folder's metric files, and the files left out with why:
    a link (never followed: it may lead out of the state folder) or anything not a regular
    file, and a file prometheus_client cannot parse (left empty by a full disk, damaged),
    which would otherwise fail every scrape. Each file is parsed once while all are sound.

    ``kept`` (the long-running exporter's): each counter or histogram file's last good bytes,
    which stand in while that file cannot be read. Leaving it out would lower the totals,
    which Prometheus reads as a counter reset, and then count the rest of them twice."""
    with archive.locked(folder, exclusive=False):
        return _merged_files(folder, kept)


def _merged_files(
    folder: Path, kept: dict[str, bytes] | None
) -> tuple[list[Metric], list[tuple[str, str]]]:
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
    snapshots = {n: _snapshot(n) for n in regular if kept is not None and _totals(n)}
    try:
        metrics = _merge(regular)
        failed: set[str] = set()
    except Exception:  # struct.error, UnicodeDecodeError, OSError...: find which file
        good, failed = [], set()
        for name in regular:
            try:
                _merge([name])
            except Exception as exc:
                failed.add(name)
                if kept is not None and name in kept:
                    good.append(_stand_in(folder, name, kept[name]))
                    why = f"cannot be read as metrics ({exc}); its last good figures stand in"
                    bad.append((name, why))
                else:
                    bad.append((name, f"cannot be read as metrics: {exc}"))
            else:
                good.append(name)
        metrics = _merge(good)
    if kept is not None:
        for name in set(kept) - set(regular):  # folded away or removed: nothing to keep
            del kept[name]
        kept.update((n, b) for n, b in snapshots.items() if b is not None and n not in failed)
    return metrics, bad


@functools.cache
def _declared_totals() -> tuple[Metric, ...]:
    """Every counter and histogram SHIM declares, with its fixed label values, at zero: made
    from the families themselves (in memory, registered nowhere), so the list cannot drift."""
    from prometheus_client import values

    from shim_lsp.metrics.families import Families

    previous = values.ValueClass
    values.ValueClass = values.MutexValue  # never a window's memory-mapped files
    try:
        declared = Families(registry=None)
    finally:
        values.ValueClass = previous
    out = []
    for family in vars(declared).values():
        for metric in family.collect():
            if metric.type in ("counter", "histogram"):
                metric.samples = [s for s in metric.samples if not s.name.endswith("_created")]
                out.append(metric)
    return tuple(out)


def with_zeros(metrics: list[Metric]) -> list[Metric]:
    """Every declared counter and histogram series, at zero where no window has recorded it:
    a series born with its first event would start at 1, and ``increase()`` would miss it."""
    have = {m.name: {(s.name, tuple(sorted(s.labels.items()))) for s in m.samples} for m in metrics}
    by_name = {m.name: m for m in metrics}
    for zero in _declared_totals():
        metric = by_name.get(zero.name)
        if metric is None:
            metrics.append(zero)
            continue
        for s in zero.samples:
            if (s.name, tuple(sorted(s.labels.items()))) not in have[zero.name]:
                metric.samples.append(s)
    return metrics


def compact(folder: Path) -> archive.Compacted:
    return archive.compact(folder, archive.alive)


class WindowsCollector:
    """The folder's windows, merged as MultiProcessCollector merges them, after the dead
    windows are folded into the archive and files that cannot be read are set aside (said
    once). No window running reads as 0 windows, not as nothing. ``keep``: the long-running
    exporter keeps a damaged file's last good totals."""

    def __init__(self, folder: Path, keep: bool = False) -> None:
        self.folder = folder
        self._told: set[str] = set()
        self._kept: dict[str, bytes] | None = {} if keep else None

    def _tell(self, name: str, why: str) -> None:
        if name not in self._told:
            self._told.add(name)
            log.warning("SHIM metrics: %s left out: %s", name, why)

    def collect(self) -> Iterable[Metric]:
        try:
            done = compact(self.folder)
        except Exception as exc:  # a full disk: the figures still come
            self._tell(str(self.folder / archive.MANIFEST), f"dead windows not folded: {exc}")
        else:
            for damaged, aside in done.set_aside:
                log.warning(
                    "SHIM metrics: %s was damaged and could not be read; it is kept as %s and"
                    " a new archive begun: the totals it held are no longer in the figures",
                    damaged,
                    aside,
                )
        metrics, bad = merged_files(self.folder, self._kept)
        for name, why in bad:
            self._tell(name, why)
        if not any(m.name == WINDOWS for m in metrics):
            windows = Metric(WINDOWS, "SHIM servers running (editor windows and AI chats)", "gauge")
            windows.samples.append(Sample(WINDOWS, {}, 0.0))
            metrics.append(windows)
        return with_zeros(metrics)


def registry(folder: Path, *, keep: bool = False) -> CollectorRegistry:
    if folder.is_symlink():
        raise FileNotFoundError(f"{folder} is a symbolic link: SHIM reads no metrics through it")
    if not folder.is_dir():
        raise FileNotFoundError(f"no SHIM metrics at {folder}: no window has recorded any yet")
    reg = CollectorRegistry(auto_describe=False)
    reg.register(WindowsCollector(folder, keep))
    return reg


def exposition(folder: Path) -> bytes:
    return generate_latest(registry(folder))


def serve(folder: Path, host: str, port: int) -> tuple[Any, Any]:
    """Start the HTTP exporter (prometheus_client's own server); returns (server, thread)."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=host, registry=registry(folder, keep=True))


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
