"""The links under the workspace folders that lead out of them. Ruff enters no linked folder
but reads a linked file, so these are found before it starts and excluded.

The same walk finds what ruff could wait on for ever: a file that is neither a folder, a
regular file nor a link (a FIFO, opened, waits for a writer; a device reads for ever), and a
link inside the roots that leads to one. The entry's type comes with the listing (no system
call more), a link's target is stat'ed when it is resolved.

Listing every folder of a large tree takes tens of milliseconds (Django's 3,248 folders:
35 ms), all of it before ruff can start. So the search keeps what it listed, as git's
untracked cache and the checkpoint walk (``workspace.scan.walk_folders``) do: per root, each
folder's own stat (mtime, ctime, inode, device), its folders, its links and its other
non-regular files and its settings files (whose ``extend`` could name a FIFO), in memory and
in SHIM's state folder. Adding, removing or renaming an
entry (a link too) moves its folder's mtime and ctime, so a folder whose stat is unchanged
holds the same names: it is only stat'ed, and one that changed is listed again. A folder is
kept only when a later change must show in its stat (the racy-timestamp guard of the stat
cache, ``fsclock``): one changed within a clock tick of the search is listed again next
time. Every link found, leading out or not, is resolved again by every search: what it leads
to may change while its folder does not.

The state file is private (0600, in a 0700 folder); one that cannot be read, or that does not
hold what this module writes, is ignored and written again.

Standard library only: ``shim analyze`` searches before anything else loads.
"""

from __future__ import annotations

import os
import stat
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from shim_lsp.lazy_log import LazyLogger
from shim_lsp.workspace.fsclock import TimestampGuard

log = LazyLogger(__name__)

PRUNED = frozenset(
    {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".nox"}
    | {".mypy_cache", ".ruff_cache", ".pytest_cache", "site-packages", "__pypackages__"}
)
"""Folders ruff excludes by default, not walked when looking for links that lead outside."""

FOLDER = "links"
"""Where the searches are kept, in the state folder."""
VERSION = 3
"""2: each folder also keeps its entries that are not regular files (FIFOs, sockets...);
3: and its settings files."""
SETTINGS = frozenset({"pyproject.toml", "ruff.toml", ".ruff.toml"})
"""Ruff's settings files: each may ``extend`` another, which ruff opens blocking."""

Kept = dict[str, list]  # type: ignore[type-arg]
"""Root-relative folder ("" for the root, "pkg/sub" below) -> [mtime_ns, ctime_ns, inode,
device, its folders' names, its links' names, its other non-regular files' names, its
settings files' names]: JSON as
it is stored."""


class Found(NamedTuple):
    """One search's answer, each list sorted."""

    outside: list[Path]
    """Links under the roots (not followed) whose target is outside all of them."""
    special: list[Path]
    """Files under the roots that are not regular (a FIFO, a socket, a device), and links
    inside them that lead to one: ruff, opening one, could wait for ever."""
    settings: list[Path]
    """Ruff's settings files under the roots (regular files, or links inside to one): what
    they ``extend`` could hold ruff (``holds.extended``)."""


class _StatOnly:
    """What the racy guard reads of a folder's stat."""

    __slots__ = ("ctime_ns", "mtime_ns")

    def __init__(self, st: os.stat_result) -> None:
        self.mtime_ns, self.ctime_ns = st.st_mtime_ns, st.st_ctime_ns


_OPEN_ROOT = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
_OPEN_BELOW = _OPEN_ROOT | getattr(os, "O_NOFOLLOW", 0)


def _list(
    path: str, below: bool
) -> tuple[os.stat_result, list[str], list[str], list[str], list[str]] | None:
    """A folder's own stat, taken before its names are read (a change after it shows in the
    next stat), its folders to walk, its links, its other non-regular files and its settings
    files; None when it cannot be listed. The root may be a link to the tree (os.scandir
    would follow it too); a folder below it is not followed when it has become a link since
    its parent was listed."""
    try:
        fd = os.open(path, _OPEN_BELOW if below else _OPEN_ROOT)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        entries = list(os.scandir(fd))
    except OSError:
        return None
    finally:
        os.close(fd)
    folders, links, special, settings = [], [], [], []
    for entry in entries:
        try:
            if entry.is_symlink():
                links.append(entry.name)
            elif entry.is_dir(follow_symlinks=False):
                if entry.name not in PRUNED:
                    folders.append(entry.name)
            elif not entry.is_file(follow_symlinks=False):
                special.append(entry.name)
            elif entry.name in SETTINGS:
                settings.append(entry.name)
        except OSError:
            continue
    return st, folders, links, special, settings


def _walk(
    root: str, kept: Kept, guard: TimestampGuard, started_ns: int, unlisted: list[str]
) -> tuple[list[str], list[str], list[str], Kept]:
    """Every link under ``root`` (its path), every other non-regular file, every settings
    file, and the folders to
    keep for the next search; the folders SHIM may not list go to ``unlisted`` (ruff cannot
    enter them either, and does not say which they are). Raises TypeError, ValueError or
    IndexError on a kept entry that is not one."""
    links: list[str] = []
    special: list[str] = []
    settings: list[str] = []
    now: Kept = {}
    stack = [""]
    lstat, base = os.lstat, root.rstrip("/") + "/"
    while stack:
        rel = stack.pop()
        path = base + rel if rel else root
        known = kept.get(rel)
        if known is not None:
            try:
                st = lstat(path) if rel else os.stat(path)
            except OSError:
                continue
            if (  # field by field: no list built per folder (thousands per search)
                known[0] != st.st_mtime_ns
                or known[1] != st.st_ctime_ns
                or known[2] != st.st_ino
                or known[3] != st.st_dev
            ):
                known = None  # changed since: listed again
        if known is not None:
            now[rel] = known
            folders, found, odd, configs = known[4], known[5], known[6], known[7]
        else:
            listed = _list(path, bool(rel))
            if listed is None:
                if not os.path.islink(path) and not os.access(path, os.R_OK | os.X_OK):
                    unlisted.append(path)
                continue
            st, folders, found, odd, configs = listed
            if guard.listing_trusted(_StatOnly(st), st.st_dev, started_ns):  # type: ignore[arg-type]
                now[rel] = [
                    *(st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev),
                    *(folders, found, odd, configs),
                ]
        if found or odd or configs:  # few folders hold a link, fewer a pipe
            prefix = base + rel + "/" if rel else base
            links += [prefix + name for name in found]
            special += [prefix + name for name in odd]
            settings += [prefix + name for name in configs]
        if folders:
            below = rel + "/" if rel else ""
            stack += [below + name for name in folders]
    return links, special, settings, now


def _inside(path: str, real_roots: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip("/") + "/") for r in real_roots)


def _leads_to_special(link: str) -> bool:
    """Whether the link leads to a file that is neither a folder nor a regular file."""
    try:
        mode = os.stat(link).st_mode
    except OSError:  # dangling, or a loop: ruff says it cannot read it
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


class LinkSearch:
    """Finds the links leading out of workspace folders, keeping what it listed between
    searches (in memory, and in ``state_dir`` when given: a folder, or what gives it when
    first needed, so that ``shim analyze`` finds it while ruff works, not before)."""

    def __init__(
        self,
        state_dir: Path | Callable[[], Path] | None = None,
        guard: TimestampGuard | None = None,
        clock: Callable[[], int] = time.time_ns,
    ):
        self._state_dir = state_dir
        self._guard = guard or TimestampGuard()
        self._clock = clock
        """When a search starts, in ns (the racy rule compares folders' times with it)."""
        self._kept: dict[str, Kept] = {}
        """Per root (its real path), the folders kept by the last search."""
        self._unsaved: set[str] = set()
        self.unlisted: tuple[Path, ...] = ()
        """The folders the last search could not list (permission denied), sorted."""
        self._lock = threading.Lock()
        """A server may search for one run while saving another's."""

    @property
    def state_dir(self) -> Path | None:
        """Where the search is kept between runs; None: in memory only."""
        if callable(self._state_dir):
            self._state_dir = self._state_dir()
        return self._state_dir

    def outside(self, roots: Sequence[Path]) -> list[Path]:
        """Every link under ``roots`` (not followed) whose target is outside all of them,
        sorted. The state file is not written: ``save`` does (it can wait for ruff)."""
        return self.found(roots).outside

    def found(self, roots: Sequence[Path]) -> Found:
        """The links leading out of ``roots`` and the files under them that are not regular
        (``Found``). The state file is not written: ``save`` does (it can wait for ruff)."""
        with self._lock:
            return self._found(roots)

    def _found(self, roots: Sequence[Path]) -> Found:
        real_roots = [os.path.realpath(r) for r in roots]
        found: list[str] = []
        unlisted: list[str] = []
        special: list[str] = []
        settings: list[str] = []
        for root, real in zip(roots, real_roots, strict=True):
            if not os.path.isdir(root):
                continue
            kept = self._kept.get(real)
            if kept is None:
                kept = self._load(real)
            started = self._clock()
            try:
                links, odd, configs, now = _walk(str(root), kept, self._guard, started, unlisted)
            except (TypeError, ValueError, IndexError, KeyError):
                log.info("the kept link search of %s is not one: searching again", real)
                unlisted.clear()
                links, odd, configs, now = _walk(str(root), {}, self._guard, started, unlisted)
            if now != kept:
                self._unsaved.add(real)
            self._kept[real] = now
            found += links
            special += odd
            settings += configs
        self.unlisted = tuple(sorted(Path(p) for p in unlisted))
        outside = []
        for link in found:
            if not _inside(link, real_roots):
                outside.append(Path(link))
            elif _leads_to_special(link):
                special.append(link)
            elif os.path.basename(link) in SETTINGS:
                settings.append(link)
        return Found(
            sorted(outside), sorted(Path(p) for p in special), sorted(Path(p) for p in settings)
        )

    def _file(self, real_root: str) -> Path | None:
        if self.state_dir is None:
            return None
        # The root's name to read, its path's checksum to tell roots apart (two that collide
        # only search again: the file names its root).
        tail = "".join(c if c.isalnum() else "_" for c in os.path.basename(real_root))[:40]
        return self.state_dir / FOLDER / f"{tail}-{zlib.crc32(os.fsencode(real_root)):08x}.json"

    def _load(self, real_root: str) -> Kept:
        file = self._file(real_root)
        if file is None:
            return {}
        try:
            with open(file, "rb") as handle:
                import json  # here: ``shim analyze`` starts ruff before it loads

                data = json.loads(handle.read())
            if data["version"] == VERSION and data["root"] == real_root:
                kept = data["folders"]
                if isinstance(kept, dict):
                    return kept
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.info("cannot use the kept link search %s (%s): searching again", file, exc)
            return {}
        log.info("the kept link search %s is not one: searching again", file)
        return {}

    def save(self) -> None:
        """Write what changed since the last search to the state folder; a folder that
        cannot be written is logged and skipped (the search only takes longer)."""
        with self._lock:
            self._save()

    def _save(self) -> None:
        import json  # here, as in ``_load``

        for real in sorted(self._unsaved):
            file = self._file(real)
            if file is None:
                break
            body = json.dumps(
                {"version": VERSION, "root": real, "folders": self._kept[real]},
                separators=(",", ":"),
            ).encode()
            staged = file.with_name(f"{file.name}.{os.getpid()}.tmp")
            try:
                file.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                file.parent.mkdir(mode=0o700, exist_ok=True)
                fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    os.fchmod(fd, 0o600)  # whatever the umask
                    handle.write(body)
                os.replace(staged, file)
            except OSError as exc:
                log.info("cannot keep the link search in %s: %s", file, exc)
                staged.unlink(missing_ok=True)
        self._unsaved.clear()


def links_outside(roots: Sequence[Path]) -> list[Path]:
    """Every link under ``roots`` (not followed) whose target is outside all of them, searched
    afresh."""
    return LinkSearch().outside(roots)
