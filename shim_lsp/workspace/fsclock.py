"""When a file's stat may be trusted to the stat cache: git's racy-timestamp rule, at the
timestamp granularity the file's filesystem really has.

A file can change again after it was read and keep its whole stat (size, mtime, ctime, inode)
when the change lands in the same timestamp tick as the stat. Linux stamps a change with its
coarse clock (``CLOCK_REALTIME_COARSE``, one tick behind the fine clock at most; multigrain
timestamps are finer, never older), truncated to the filesystem's granularity G. So a change
made after ``started`` (the fine clock, read before any stat) carries a ctime of at least
``floor_G(started - tick)``: a file whose mtime and ctime are both older than that cannot
change again unseen. Others are read again by the next checkpoint that looks at them.

G is not published by the kernel: it is learnt per device as the gcd of the ctimes seen there
(each one a multiple of G, so the estimate is never finer than G), starting from 2 s, FAT's.
The rule needs the timestamps to come from this machine's clock: on filesystems not known to
be local (NFS, SMB, FUSE, ...: a server stamps them, its clock may be off), and where the
filesystem cannot be told, the fixed 2 s window stays.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from math import gcd
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only its fields are read: no pathspec and settings for ``shim analyze``
    from shim_lsp.workspace.scan import FileStat

SAFE_NS = 2_000_000_000
"""The window where nothing better is known: FAT's 2 s, and some clock skew to a server."""

_CLOCK_REALTIME_COARSE = 5  # Linux's id; Python's time module does not name it


def _coarse_tick_ns() -> int:
    try:
        return max(1, round(time.clock_getres(_CLOCK_REALTIME_COARSE) * 1e9))
    except (OSError, AttributeError):
        return 50_000_000  # not Linux: a generous tick (Windows' is 15.6 ms)


COARSE_TICK_NS = _coarse_tick_ns()
"""How far a file's timestamp may lag behind ``time.time_ns()``."""

LOCAL_TYPES = frozenset(
    {
        "ext2",
        "ext3",
        "ext4",
        "xfs",
        "btrfs",
        "tmpfs",
        "ramfs",
        "overlay",
        "f2fs",
        "zfs",
        "bcachefs",
        "jfs",
        "nilfs2",
        "reiserfs",
    }
)
"""Filesystems whose timestamps this kernel sets from its own clock on every change."""

MOUNTINFO = "/proc/self/mountinfo"


def mount_types(text: str) -> dict[int, str]:
    """Device number -> filesystem type, from the text of ``/proc/self/mountinfo``."""
    found: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split()
        try:
            major, minor = fields[2].split(":")
            fstype = fields[fields.index("-") + 1]
        except (IndexError, ValueError):
            continue
        found[os.makedev(int(major), int(minor))] = fstype
    return found


class FilesystemTypes:
    """The filesystem type of a device, read from the mount table (again when a device is
    new to it: a filesystem mounted since)."""

    def __init__(self, path: str = MOUNTINFO) -> None:
        self._path = path
        self._types: dict[int, str] | None = None

    def _read(self) -> dict[int, str]:
        try:
            with open(self._path, encoding="utf-8", errors="replace") as handle:
                return mount_types(handle.read())
        except OSError:
            return {}

    def __call__(self, dev: int) -> str | None:
        if self._types is None or dev not in self._types:
            self._types = self._read()
        return self._types.get(dev)


class TimestampGuard:
    """Judges, per file read, whether its stat may go into the stat cache."""

    def __init__(self, fs_type: Callable[[int], str | None] | None = None) -> None:
        self._fs_type = fs_type or FilesystemTypes()
        self._local: dict[int, bool] = {}
        self._granularity: dict[int, int] = {}
        """Per device, the gcd of the ctimes seen so far (and of ``SAFE_NS``). Two reader
        threads may race on it; a lost update only leaves it coarser, which is safe."""

    def local(self, dev: int) -> bool:
        found = self._local.get(dev)
        if found is None:
            found = self._local[dev] = self._fs_type(dev) in LOCAL_TYPES
        return found

    def granularity(self, dev: int, ctime_ns: int) -> int:
        g = gcd(self._granularity.get(dev, SAFE_NS), ctime_ns)
        self._granularity[dev] = g
        return g

    def trusted(self, st: FileStat, dev: int, started_ns: int) -> bool:
        """True when a later change of the file must show in its stat: ``st`` (taken after
        ``started_ns``) is strictly older than the tick any later change would carry."""
        return self._settled(st, dev, started_ns)

    def listing_trusted(self, st: FileStat, dev: int, started_ns: int) -> bool:
        """The same for a folder's stat, before its names are kept: an entry added, removed
        or renamed later must move the folder's mtime. Only on local filesystems: a network
        client may serve a folder's attributes from its cache (git's untracked cache is
        off by default for that reason)."""
        return self.local(dev) and self._settled(st, dev, started_ns)

    def _settled(self, st: FileStat, dev: int, started_ns: int) -> bool:
        newest = max(st.mtime_ns, st.ctime_ns)
        local = self._local.get(dev)  # once per file of a first checkpoint: no calls
        if not (self.local(dev) if local is None else local):
            return newest < started_ns - SAFE_NS
        g = self._granularity.get(dev, SAFE_NS)
        if g != 1:
            g = self.granularity(dev, st.ctime_ns)
        edge = started_ns - COARSE_TICK_NS
        return newest < edge - edge % g
