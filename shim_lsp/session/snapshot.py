"""Turning "what changed" into a checkpoint, reading only what it must.

The tree state holds the manifest of the last checkpoint and a stat cache: each file's size,
mtime, ctime and inode when it was last read, and its blob. The cache is kept in the store
(``store/statcache.py``) and written with each checkpoint, so a restarted server or a second
window only stats the tree. A checkpoint looks only at the paths the editor reported as
changed (saves, ``workspace/didChangeWatchedFiles``), except for the first one in a process,
those of an editor without watchers and a periodic safety scan, which stat the whole tree;
only files whose stat differs from the cache are read. A scan first compares each folder as a
whole (its signature: the names and stats of its files), and looks at the files of those
that changed only; the signatures are kept in the store too, so a restarted server starts
from them and loads what the manifest and the stat cache hold of a folder when it finds that
folder changed (the whole manifest only to write a new base). Each folder's own stat and
names are kept in the store as well (``scan.Listings``): a walk, a restart's first one too,
lists again only the folders whose stat moved, and stats the files of the others by path.

Racy timestamps are guarded against as git does: a file can change again within the
filesystem's timestamp granularity after it was read and keep its stat, so a file modified
(mtime or ctime) in the timestamp tick in which the checkpoint began, or later, is not cached,
and is read again by the next checkpoint that looks at it (``workspace/fsclock.py``).
Files are read, hashed and compressed on the checkpoint thread as the walk finds them, and
blobs go to the writer in chunks while the rest is still being read. Reader threads beside
the walk made a first checkpoint slower, not faster: every read, hash and stat gives the GIL
up and takes it back, and each hand-over between the walking and the reading threads costs a
thread switch (ten Django copies: 5.4 s here against 6.9 s on two reader threads, and less
CPU; README, "The first checkpoint's floors").
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import NamedTuple, cast

from shim_lsp.settings import Settings, secret_patterns
from shim_lsp.store import blobs, statcache
from shim_lsp.store import checkpoints as cps
from shim_lsp.store.checkpoints import BufferEntry, DiskEntry, NewCheckpoint
from shim_lsp.workspace.defaults import DEFAULT_EXCLUDE_GLOBS
from shim_lsp.workspace.fsclock import TimestampGuard
from shim_lsp.workspace.paths import (
    Workspace,
    child_uri,
    is_unquoted,
    path_to_uri,
    uri_to_path,
)
from shim_lsp.workspace.scan import (
    FileRules,
    FileStat,
    Listings,
    kept_files,
    stat_file,
    walk_folders,
)

REBASE_MIN = 64
REBASE_FRACTION = 8
CHUNK_BYTES = 1024 * 1024
"""New blobs handed to the writer at a time. With the chunks queued, the tail, and those
being written, a first checkpoint holds a few of them at once: 4 MB chunks were 12 MB of its
peak RSS at ten Django copies (1 MB: peak 116 MB against 128 MB, no slower)."""
BATCH = 64

LOAD_FOLDERS_MAX = 64
"""Folders a restarted server loads one by one before it loads the whole manifest."""

PROGRESS_EVERY_S = 0.25

Progress = Callable[[int, int, int], None]
"""Told (files looked at, files read, files expected) while a checkpoint is planned, at most
every ``PROGRESS_EVERY_S``: a large tree's walk can take seconds. Expected is the last
checkpoint's file count (0: not known, the first checkpoint)."""

BlobSink = Callable[[list[blobs.Prepared]], None]
"""Receives chunks of new blobs to store (the engine hands them to the writer thread)."""


@dataclass(frozen=True)
class BufferSnapshot:
    uri: str
    text: str
    version: int | None


@dataclass
class Plan:
    """A checkpoint whose blobs, but the tail, have been handed to the sink."""

    checkpoint: NewCheckpoint
    updates: dict[str, DiskEntry | None]
    """Files whose entry changed (None: gone), applied to the tree state on commit."""
    delta: dict[str, DiskEntry | None]
    disk_bytes: int
    base_is_new: bool
    read_files: int
    new_blobs: int
    tail_blobs: list[blobs.Prepared]
    """The last new blobs, written in the manifest's own transaction (one commit when small)."""
    reused_blobs: set[str]
    """Blobs already in the store that this checkpoint names: their use time is refreshed."""
    scanned: bool
    stat_rows: dict[str, statcache.Cached | None]
    """Stat cache rows that changed (None: forget), written with the checkpoint."""
    folder_rows: dict[str, bytes | None]
    """Folder signatures that changed (None: forget), written with the checkpoint."""
    listing_rows: dict[str, bytes | None]
    """Folder listings found anew (None: forget), written with the checkpoint."""
    folders: statcache.Stamp
    """The stamp to write with them (its checkpoint id is the one being written)."""
    folders_seen: tuple[int, str] | None
    """The stamp this tree state expects in the store; another one means the signatures
    there are another window's: they are all written again."""
    all_folders: dict[str, bytes]
    disk_files: int


class _Candidate(NamedTuple):
    uri: str
    path: str
    stat: FileStat | None
    """None: the file is gone or no longer kept."""
    dev: int = 0
    """The device the stat was taken on."""


class _Loaded(NamedTuple):
    uri: str
    entry: DiskEntry | None
    blob: blobs.Prepared | None
    """Set when the content differs from what the stat cache knew."""
    cached: statcache.Cached | None = None
    """The stat cache row for what was read; None when it would be racy."""
    failed: bool = False
    """The file is there but could not be read: to be tried again."""


STALE = b""
"""The signature of a folder that holds files of the manifest but must be looked at again
(no listing has an empty signature)."""


@dataclass
class _Folders:
    """What a checkpoint found of the folders: those it walked, and the signatures to
    record (None: forget) for those that changed, vanished, or hold a file it read."""

    visited: set[str] = field(default_factory=set)
    changed: dict[str, bytes | None] = field(default_factory=dict)
    """None: vanished."""
    untrusted: set[str] = field(default_factory=set)
    """Folders holding a file whose stat was not trusted to the stat cache, or that could
    not be read: a scan must look at them again."""
    listed: dict[str, bytes | None] = field(default_factory=dict)
    """The listings of the folders the walk listed, to record (None: forget)."""


def _folder_of(uri: str) -> str:
    return uri[: uri.rfind("/") + 1]


@dataclass
class _Meter:
    progress: Progress | None
    expected: int
    looked: int = 0
    read: int = 0
    _last: float = field(default_factory=time.monotonic)

    def report(self, *, final: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if final or now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            self.progress(self.looked, self.read, self.expected)


class _BlobStream:
    """Collects new blobs and hands them to the sink in chunks as they fill up, so that the
    writer stores them while later files are still being read."""

    def __init__(self, known: Callable[[Iterable[str]], set[str]], sink: BlobSink) -> None:
        self._known, self._sink = known, sink
        self._pending: dict[str, blobs.Prepared] = {}
        self._size = 0
        self.seen: set[str] = set()
        self.reused: set[str] = set()
        self.new = 0

    def add(self, blob: blobs.Prepared) -> None:
        if blob.hash in self.seen:
            return
        self.seen.add(blob.hash)
        self._pending[blob.hash] = blob
        self._size += len(blob.stored)
        if self._size >= CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        chunk = self.drain()
        if chunk:
            self._sink(chunk)

    def drain(self) -> list[blobs.Prepared]:
        """The blobs not yet handed over that the store does not have."""
        if not self._pending:
            return []
        reused = self._known(self._pending)
        self.reused |= reused
        chunk = [b for d, b in self._pending.items() if d not in reused]
        self._pending, self._size = {}, 0
        self.new += len(chunk)
        return chunk


@dataclass
class TreeState:
    workspace: Workspace
    settings: Settings
    rules: dict[Path, FileRules] = field(default_factory=dict)
    loaded: bool = False
    entries: dict[str, DiskEntry] = field(default_factory=dict)
    base_id: int | None = None
    base_shadow: dict[str, DiskEntry | None] = field(default_factory=dict)
    """What the base held (None: nothing) of the files changed since it, at least those of
    ``delta``: with ``entries``, the whole base, without a second manifest in memory."""
    delta: dict[str, DiskEntry | None] = field(default_factory=dict)
    """How ``entries`` differ from the base: kept up to date, never recomputed."""
    total_bytes: int = 0
    changed_paths: set[Path] = field(default_factory=set)
    needs_scan: bool = True
    stats: dict[str, statcache.Cached] = field(default_factory=dict)
    """The stat cache: per file, its stat when last read and the blob it held."""
    clock_ns: Callable[[], int] = time.time_ns
    guard: TimestampGuard = field(default_factory=TimestampGuard)
    """Which stats may go into the stat cache (racy timestamps)."""
    full: bool = False
    """``entries`` and ``stats`` hold the whole manifest and stat cache. A restarted server
    whose folder signatures hold starts without them (``loaded_folders``)."""
    latest_id: int | None = None
    """The checkpoint that ``entries`` describes (the newest this session built on)."""
    files: int = 0
    base_files: int = 0
    folders: dict[str, bytes] = field(default_factory=dict)
    """Per folder (its URI, with a final "/"), its ``Listing.signature`` when each of its
    files was last found in the manifest as the stat cache holds it, with a stat trusted
    by the racy guard: a scan that finds the same signature passes over its files."""
    folders_complete: bool = False
    """Every file of the manifest lies in a folder of ``folders``: a scan that finds them
    all unchanged has nothing gone to look for."""
    folders_seen: tuple[int, str] | None = None
    """The stamp (checkpoint, session) this state last read or wrote with the signatures:
    another one in the store means another window wrote them since."""
    rules_key: str = ""
    """A fingerprint of the folders and the settings that decide what is kept: signatures
    hold only under the rules they were found with."""
    loaded_folders: set[str] = field(default_factory=set)
    """Until ``full``: the folders whose files ``entries`` and ``stats`` hold (a scan loads
    the folders it finds changed, one by one)."""
    keep_listings: bool = False
    """Set for an editor without file watchers, whose every checkpoint walks the tree: the
    folder listings then stay in memory between walks; otherwise each walk loads them from
    the store (a restart, the rare scan of an editor with watchers) and drops them after."""
    listings: Listings | None = None
    """The folder listings (``scan.walk_folders``), by inode, for every workspace folder: a
    walk lists again only folders whose own stat moved. None: to be loaded from the store."""
    _delta_index: tuple[dict[str, DiskEntry | None], dict[str, list[str]]] = field(
        default_factory=lambda: ({}, {})
    )
    """``delta``'s files by folder, for ``load_folder`` (and the delta it was made of)."""

    def __post_init__(self) -> None:
        self.rebuild_rules()

    def rebuild_rules(self) -> None:
        self.listings = None
        self.rules = {f: FileRules.from_settings(f, self.settings) for f in self.workspace.folders}
        s = self.settings
        described = repr(
            (
                [str(f) for f in self.workspace.folders],
                DEFAULT_EXCLUDE_GLOBS,
                s.exclude_globs,
                secret_patterns(s),
                s.max_file_size,
                s.respect_gitignore,
            )
        )
        self.rules_key = hashlib.sha256(described.encode("utf-8", "surrogatepass")).hexdigest()
        self.folders, self.folders_complete, self.folders_seen = {}, False, None

    def rules_for(self, path: Path, real: Path | None = None) -> FileRules | None:
        """The rules of the folder that really holds ``path`` (``real``: its real path, when
        the caller has it)."""
        folder = self.workspace.folder_of(path, real)
        return self.rules.get(folder) if folder is not None else None

    def may_store(self, uri: str) -> bool:
        """Buffers and files SHIM may keep: inside the workspace (or unsaved) and not secret."""
        path = uri_to_path(uri)
        if path is None:
            return uri.startswith("untitled:")
        rules = self.rules_for(path)
        return rules is not None and not rules.is_secret(path)

    def report_changed(self, paths: Iterable[Path]) -> None:
        for path in paths:
            if path.name == ".gitignore":
                rules = self.rules_for(path)
                if rules is not None:
                    rules.forget_gitignore(path.parent)
                self.needs_scan = True
            self.changed_paths.add(path)

    def take_changed(self) -> set[Path]:
        changed, self.changed_paths = self.changed_paths, set()
        return changed

    def load(self, conn: sqlite3.Connection) -> None:
        """Start from the newest checkpoint of this workspace: from its folder signatures
        alone when they hold for it, else from its manifest and the stat cache."""
        latest = cps.latest(conn, self.workspace.key)
        self.loaded = True
        if latest is None:
            self.full = True
            return
        self.latest_id = latest.id
        self.base_id = latest.base_id if latest.base_id is not None else latest.id
        found = statcache.load_folders(
            conn, self.workspace.key, latest.id, latest.session_id, self.rules_key
        )
        if found is None:
            self.load_full(conn)
            return
        self.folders, stamp = found
        self.folders_complete = stamp.complete
        self.folders_seen = (stamp.checkpoint_id, stamp.session_id)
        self.files, self.total_bytes, self.base_files = stamp.files, stamp.bytes, stamp.base_files
        self.delta = {} if latest.base_id is None else cps.disk_delta(conn, latest.id)

    def load_folder(self, conn: sqlite3.Connection, folder: str) -> None:
        """What the manifest and the stat cache hold of the files directly in ``folder``;
        past ``LOAD_FOLDERS_MAX`` folders, all of it (many queries would cost more)."""
        if self.full or folder in self.loaded_folders:
            return
        if len(self.loaded_folders) >= LOAD_FOLDERS_MAX:
            self.load_full(conn)
            return
        self.loaded_folders.add(folder)
        assert self.latest_id is not None and self.base_id is not None
        if cps.get(conn, self.base_id) is None:
            raise cps.MissingBase(f"checkpoint {self.base_id}, the base, is gone")
        base = cps.disk_entries_in(conn, self.base_id, folder)
        if self._delta_index[0] is not self.delta:  # a checkpoint since: index it again
            index: dict[str, list[str]] = {}
            for uri in self.delta:
                index.setdefault(_folder_of(uri), []).append(uri)
            self._delta_index = (self.delta, index)
        changed = {u: self.delta[u] for u in self._delta_index[1].get(folder, ())}
        for uri, entry in base.items():
            if uri not in changed:
                self.entries[uri] = entry
        for uri, now in changed.items():
            self.base_shadow.setdefault(uri, base.get(uri))
            if now is not None:
                self.entries[uri] = now
        self.stats.update(statcache.load_folder(conn, self.workspace.key, folder))

    def load_full(self, conn: sqlite3.Connection) -> None:
        """The manifest of ``latest_id`` and the stat cache, as Python objects."""
        if self.full:
            return
        if self.latest_id is not None:
            assert self.base_id is not None
            if cps.get(conn, self.latest_id) is None or cps.get(conn, self.base_id) is None:
                raise cps.MissingBase(f"checkpoint {self.latest_id} or its base is gone")
            # The base is read once; the newest, when a delta, is that base with its delta.
            base = cps.disk_entries(conn, self.base_id)
            delta = {} if self.base_id == self.latest_id else cps.disk_delta(conn, self.latest_id)
            self.delta = {u: e for u, e in delta.items() if base.get(u) != e}
            self.base_shadow = {u: base.get(u) for u in self.delta}
            self.base_files = len(base)
            # In place: a scan's generators already hold these dicts.
            self.entries.update(cps.apply_delta(base, self.delta))
            self.total_bytes = sum(e.size for e in self.entries.values())
            self.files = len(self.entries)
        self.stats.update(statcache.load(conn, self.workspace.key))
        self.full = True
        self.loaded_folders = set()

    def _candidates(
        self,
        changed: set[Path],
        meter: _Meter,
        seen_folders: _Folders,
        conn: sqlite3.Connection,
        started: int,
    ) -> Iterator[_Candidate]:
        """The files to look at, each once: every file of a scan as the walk finds it (so
        that reading starts before the walk ends), then those gone since; else the paths
        reported as changed. A scan passes over folders whose signature is the one the tree
        state holds, and over files that the stat cache and the manifest both already hold
        as they are: most of them, and this runs once per file. What the manifest and the
        stat cache hold of a folder is loaded when it is found changed."""
        seen: set[str] = set()
        if not self.needs_scan:
            for path in changed:
                uri = path_to_uri(path)
                if uri not in seen:
                    seen.add(uri)
                    meter.looked += 1
                    self.load_folder(conn, _folder_of(uri))
                    seen_folders.changed[_folder_of(uri)] = STALE
                    folder_rules = self.rules_for(path)
                    found = stat_file(folder_rules, path) if folder_rules else None
                    yield _Candidate(uri, str(path), *(found or (None,)))
            return
        signatures, pack = self.folders, statcache.pack
        if self.listings is None:
            self.listings = statcache.load_listings(conn, self.workspace.key)
        listings = self.listings
        if not self.keep_listings:
            self.listings = None  # what changed goes to the store; memory is given back

        def trusted(st: os.stat_result) -> bool:
            kept = FileStat(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            return self.guard.listing_trusted(kept, st.st_dev, started)

        for folder, rules in self.rules.items():
            folder_uri, root = path_to_uri(folder), str(folder)
            base = folder_uri.rstrip("/") + "/"
            for listing in walk_folders(rules, listings, trusted):
                prefix = listing.prefix
                here = base + prefix if is_unquoted(prefix) else child_uri(folder_uri, prefix)
                seen_folders.visited.add(here)
                if listing.listed:
                    seen_folders.listed[here] = listing.kept
                meter.looked += len(listing.files)
                if meter.looked & ~1023 != (meter.looked - len(listing.files)) & ~1023:
                    meter.report()
                if signatures.get(here) == listing.signature:
                    continue
                seen_folders.changed[here] = listing.signature
                self.load_folder(conn, here)
                stats, entries = self.stats, self.entries
                for rel, stat, dev in kept_files(rules, listing):
                    uri = base + rel if is_unquoted(rel) else child_uri(folder_uri, rel)
                    if uri in seen:
                        continue
                    seen.add(uri)
                    cached = stats.get(uri)
                    if cached is not None and cached[0] == pack(stat):
                        old = entries.get(uri)
                        if (
                            old is not None
                            and old.blob == cached[1]
                            and old.size == stat.size
                            and old.mtime_ns == stat.mtime_ns
                        ):
                            continue
                    yield _Candidate(uri, f"{root}/{rel}", stat, dev)
        for f in [f for f in signatures if f not in seen_folders.visited]:
            seen_folders.changed[f] = None  # vanished, or left out now
            seen_folders.listed[f] = None
            self.load_folder(conn, f)
        if not self.folders_complete:
            self.load_full(conn)  # files of the manifest may be in folders never signed
        elif not seen_folders.changed:
            return  # every file of the manifest is in a folder found as it was
        # What is loaded: the whole manifest, or the folders found changed (and earlier ones).
        passed = seen_folders.visited.difference(seen_folders.changed)
        for uri in self.entries:
            if uri in seen or _folder_of(uri) in passed:
                continue
            gone = uri_to_path(uri)
            if gone is not None:
                meter.looked += 1
                yield _Candidate(uri, str(gone), None)

    def _load(self, cand: _Candidate, started: int, prepared: set[str]) -> _Loaded:
        """Read, hash and (unless this checkpoint already has those bytes, ``prepared``)
        compress one file."""
        old = self.entries.get(cand.uri)
        st = cand.stat
        if st is None:
            return _Loaded(cand.uri, None, None)
        try:
            data = _read(cand.path, st.size)
        except FileNotFoundError:
            return _Loaded(cand.uri, None, None)
        except OSError:
            return _Loaded(cand.uri, None, None, failed=True)
        digest = blobs.blob_hash(data)
        entry = DiskEntry(digest, len(data), st.mtime_ns)
        # The stat was taken before the read: a change since shows as a timestamp in the
        # checkpoint's own tick (racy, not cached) or, mid-read, as a size that differs.
        racy = st.size != len(data) or not self.guard.trusted(st, cand.dev, started)
        cached = None if racy else (statcache.pack(st), digest)
        if (old is not None and old.blob == digest) or digest in prepared:
            return _Loaded(cand.uri, entry, None, cached)
        prepared.add(digest)
        return _Loaded(cand.uri, entry, blobs.prepare(data, digest), cached)

    def _load_batch(
        self, batch: list[_Candidate], started: int, prepared: set[str]
    ) -> list[_Loaded]:
        return [self._load(c, started, prepared) for c in batch]

    def _to_read(
        self, candidates: Iterable[_Candidate], by_cache: dict[str, tuple[_Candidate, DiskEntry]]
    ) -> Iterator[list[_Candidate]]:
        """Batches of the candidates to read. Those the stat cache knows, but whose entry
        differs from the manifest's (read by another window or an earlier session), go to
        ``by_cache`` instead: their blob must still be in the store to be named unread."""
        stats, entries, pack = self.stats, self.entries, statcache.pack
        batch: list[_Candidate] = []
        for cand in candidates:
            st = cand.stat
            cached = stats.get(cand.uri)
            if st is None or cached is None or cached[0] != pack(st):
                batch.append(cand)
                if len(batch) == BATCH:
                    yield batch
                    batch = []
                continue
            old = entries.get(cand.uri)
            if old is None or old != (cached[1], st.size, st.mtime_ns):
                by_cache[cand.uri] = (cand, DiskEntry(cached[1], st.size, st.mtime_ns))
        if batch:
            yield batch

    def _in_base(self, uri: str) -> DiskEntry | None:
        if uri in self.base_shadow:
            return self.base_shadow[uri]
        return self.entries.get(uri)  # unchanged since the base

    def _on_disk(
        self, conn: sqlite3.Connection, uri: str, updates: dict[str, DiskEntry | None]
    ) -> bool:
        if uri in updates:
            return updates[uri] is not None
        if self.full:
            return uri in self.entries
        if uri in self.delta:
            return self.delta[uri] is not None
        return self.base_id is not None and cps.has_disk_entry(conn, self.base_id, uri)

    def plan(
        self,
        *,
        session_id: str,
        label: str | None,
        reason: str,
        journal_lseq: int,
        buffers: list[BufferSnapshot],
        changed: set[Path],
        conn: sqlite3.Connection,
        known_blobs: Callable[[Iterable[str]], set[str]],
        sink: BlobSink,
        progress: Progress | None = None,
    ) -> Plan:
        """Work out the next checkpoint, handing its new blobs to ``sink`` as they are read.

        Costs what changed: only updated entries are computed, the delta against the base
        is adjusted rather than recomputed, and the full manifest is written out only when
        the delta has grown enough to start a new base.
        """
        started = self.clock_ns()  # before any stat: the racy guard's reference
        rules_key = self.rules_key  # the rules it judges by, though settings may change
        scanned = self.needs_scan
        updates: dict[str, DiskEntry | None] = {}
        stat_rows: dict[str, statcache.Cached | None] = {}
        out = _BlobStream(known_blobs, sink)
        read = 0
        by_cache: dict[str, tuple[_Candidate, DiskEntry]] = {}
        meter = _Meter(progress, self.files)
        folders = _Folders()

        def batches() -> Iterator[list[_Candidate]]:
            yield from self._to_read(
                self._candidates(changed, meter, folders, conn, started), by_cache
            )
            if by_cache:
                present = known_blobs({hit.blob for _c, hit in by_cache.values()})
                again = []
                for uri, (cand, hit) in by_cache.items():
                    if hit.blob in present:
                        updates[uri] = hit
                        out.reused.add(hit.blob)
                    else:  # collected since it was cached: read the file again
                        again.append(cand)
                for i in range(0, len(again), BATCH):
                    yield again[i : i + BATCH]

        for loaded_batch in self._load_all(batches(), started):
            meter.read += len(loaded_batch)
            meter.report()
            for loaded in loaded_batch:
                if self.stats.get(loaded.uri) != loaded.cached:
                    stat_rows[loaded.uri] = loaded.cached
                if loaded.failed or (loaded.cached is None and loaded.entry is not None):
                    folders.untrusted.add(_folder_of(loaded.uri))
                if loaded.entry is None:
                    if loaded.uri in self.entries:
                        updates[loaded.uri] = None
                    continue
                read += 1
                if self.entries.get(loaded.uri) != loaded.entry:
                    updates[loaded.uri] = loaded.entry
                if loaded.blob is not None:
                    out.add(loaded.blob)

        buffer_entries: list[BufferEntry] = []
        for snap in buffers:
            if not self.may_store(snap.uri):
                continue
            data = blobs.buffer_bytes(snap.text)
            digest = blobs.blob_hash(data)
            out.add(blobs.prepare(data, digest))
            buffer_entries.append(BufferEntry(snap.uri, digest, len(data), snap.version))
        tail = out.drain()

        assert self.full or all(_folder_of(u) in self.loaded_folders for u in updates)
        delta: dict[str, DiskEntry | None] = {}
        if self.base_id is not None:  # else a full manifest: no delta to work out
            delta = dict(self.delta)
            for uri, entry in updates.items():
                if self._in_base(uri) == entry:
                    delta.pop(uri, None)
                else:
                    delta[uri] = entry
        rebase = self.base_id is None or len(delta) > max(
            REBASE_MIN, self.base_files // REBASE_FRACTION
        )
        if rebase:
            self.load_full(conn)
        files = self.files + sum(
            (e is not None) - (uri in self.entries) for uri, e in updates.items()
        )
        disk_bytes = self.total_bytes + sum(
            (e.size if e else 0) - (old.size if (old := self.entries.get(uri)) else 0)
            for uri, e in updates.items()
        )
        disk: dict[str, DiskEntry | None] = delta
        if rebase and not self.entries:
            disk = updates  # the first: every entry is new (no deletion), no copy
        elif rebase:
            disk = {**self.entries}
            for uri, entry in updates.items():
                if entry is None:
                    disk.pop(uri, None)
                else:
                    disk[uri] = entry
        checkpoint = NewCheckpoint(
            session_id=session_id,
            workspace=self.workspace.key,
            label=label,
            reason=reason,
            journal_lseq=journal_lseq,
            base_id=None if rebase else self.base_id,
            disk=disk,
            buffers=buffer_entries,
            # A file is counted once, though it has a disk and an unsaved version; an
            # unsaved buffer of a file not on disk (untitled, not yet saved) counts too.
            files=files + sum(not self._on_disk(conn, b.uri, updates) for b in buffer_entries),
            bytes=disk_bytes + sum(b.size for b in buffer_entries),
        )
        folder_rows, complete = self._folder_rows(folders, scanned)
        count = len(self.folders) + sum(
            (sig is not None) - (f in self.folders) for f, sig in folder_rows.items()
        )
        meter.report(final=True)
        return Plan(
            checkpoint=checkpoint,
            updates=updates,
            delta={} if rebase else delta,
            disk_bytes=disk_bytes,
            base_is_new=rebase,
            read_files=read,
            new_blobs=out.new,
            tail_blobs=tail,
            reused_blobs=out.reused,
            scanned=scanned,
            stat_rows=stat_rows,
            folder_rows=folder_rows,
            listing_rows=folders.listed,
            folders=statcache.Stamp(
                checkpoint_id=0,  # known once written
                session_id=session_id,
                rules=rules_key,
                folders=count,
                complete=complete,
                files=files,
                bytes=disk_bytes,
                base_files=files if rebase else self.base_files,
            ),
            folders_seen=self.folders_seen,
            all_folders=self.folders,
            disk_files=files,
        )

    def _folder_rows(self, found: _Folders, scanned: bool) -> tuple[dict[str, bytes | None], bool]:
        """The signatures to record: those of the folders a scan found changed, but
        ``STALE`` for those holding a file read with a stat too recent to trust and for the
        folders of files reported changed (looked at again by the next scan); vanished
        folders are forgotten. And whether they then cover every file of the manifest: after
        a scan they do (a folder it did not find has no file left in the manifest)."""
        rows: dict[str, bytes | None] = {}
        for folder, sig in found.changed.items():
            rows[folder] = STALE if sig is not None and folder in found.untrusted else sig
        return rows, scanned or self.folders_complete

    def _load_all(
        self, batches: Iterator[list[_Candidate]], started: int
    ) -> Iterator[list[_Loaded]]:
        """Load each batch on this thread as the walk yields it: one batch in memory at a
        time, and no GIL hand-over to reader threads (see the module's docstring)."""
        # Files with the same bytes (copies, vendored trees, empty __init__.py) are compressed
        # once: git too writes an object only once.
        load = partial(self._load_batch, started=started, prepared=set())
        for batch in batches:
            yield load(batch)

    def committed(self, plan: Plan, checkpoint_id: int) -> None:
        """Adopt a plan once its checkpoint is in the store."""
        if (
            plan.base_is_new
            and not self.entries
            and all(e is not None for e in plan.updates.values())
        ):
            self.entries = cast(dict[str, DiskEntry], plan.updates)  # the first: no copy
        for uri, entry in plan.updates.items() if self.entries is not plan.updates else ():
            if not plan.base_is_new and uri not in self.base_shadow:
                self.base_shadow[uri] = self.entries.get(uri)  # unchanged since the base
            if entry is None:
                self.entries.pop(uri, None)
            else:
                self.entries[uri] = entry
        if not self.stats and all(c is not None for c in plan.stat_rows.values()):
            self.stats = cast(dict[str, statcache.Cached], plan.stat_rows)  # no copy
        for uri, cached in plan.stat_rows.items() if self.stats is not plan.stat_rows else ():
            if cached is None:
                self.stats.pop(uri, None)
            else:
                self.stats[uri] = cached
        # Settings that changed the rules while it ran: what it found of the folders (and
        # its scan) was by the old ones; the next checkpoint scans again from nothing.
        same_rules = plan.folders.rules == self.rules_key
        for folder, sig in plan.folder_rows.items() if same_rules else ():
            if sig is None:
                self.folders.pop(folder, None)
            else:
                self.folders[folder] = sig
        if same_rules:
            self.folders_complete = plan.folders.complete
            self.folders_seen = (checkpoint_id, plan.folders.session_id)
        self.latest_id = checkpoint_id
        self.files = plan.disk_files
        self.total_bytes = plan.disk_bytes
        self.delta = plan.delta
        if plan.base_is_new:
            self.base_id = checkpoint_id
            self.base_files = plan.disk_files
            self.base_shadow = {}
        if plan.scanned and same_rules:
            self.needs_scan = False


def _read(path: str, size: int) -> bytes:
    """A file's content, read without a file object (their cost counts, once per file of a
    first checkpoint); ``size`` is what the stat said, and the file may have changed since."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(fd, size + 1)
        if len(data) <= size:
            return data
        parts = [data]
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)
