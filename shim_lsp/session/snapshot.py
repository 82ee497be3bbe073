"""Turning "what changed" into a checkpoint, reading only what it must.

The tree state remembers every file's size, mtime and blob as of the last checkpoint (a stat
cache, seeded from the store). A checkpoint looks only at the paths the editor reported as
changed (saves, ``workspace/didChangeWatchedFiles``), except for the first one in a process
and a periodic safety scan, which stat the whole tree; only files whose stat differs are read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shim_lsp.settings import Settings
from shim_lsp.store import blobs
from shim_lsp.store import checkpoints as cps
from shim_lsp.store.checkpoints import BufferEntry, DiskEntry, NewCheckpoint
from shim_lsp.workspace.paths import Workspace, path_to_uri, uri_to_path
from shim_lsp.workspace.scan import FileRules, FileStat, stat_file, walk

REBASE_MIN = 64
REBASE_FRACTION = 8
CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class BufferSnapshot:
    uri: str
    text: str
    version: int | None


@dataclass
class Plan:
    """A checkpoint ready to write: blobs in chunks, then the manifest."""

    checkpoint: NewCheckpoint
    blob_chunks: list[list[blobs.Prepared]]
    entries: dict[str, DiskEntry]
    base_entries: dict[str, DiskEntry]
    base_is_new: bool
    read_files: int
    scanned: bool


@dataclass
class TreeState:
    workspace: Workspace
    settings: Settings
    rules: dict[Path, FileRules] = field(default_factory=dict)
    loaded: bool = False
    entries: dict[str, DiskEntry] = field(default_factory=dict)
    base_id: int | None = None
    base_entries: dict[str, DiskEntry] = field(default_factory=dict)
    changed_paths: set[Path] = field(default_factory=set)
    needs_scan: bool = True

    def __post_init__(self) -> None:
        self.rebuild_rules()

    def rebuild_rules(self) -> None:
        self.rules = {f: FileRules.from_settings(f, self.settings) for f in self.workspace.folders}

    def rules_for(self, path: Path) -> FileRules | None:
        folder = self.workspace.folder_of(path)
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

    def load(self, conn: sqlite3.Connection) -> None:
        """Seed the stat cache from the newest checkpoint of this workspace."""
        latest = cps.latest(conn, self.workspace.key)
        if latest is not None:
            self.entries = cps.disk_manifest(conn, latest.id)
            self.base_id = latest.base_id if latest.base_id is not None else latest.id
            self.base_entries = cps.disk_manifest(conn, self.base_id)
        self.loaded = True

    def _candidates(
        self, changed: set[Path]
    ) -> tuple[dict[str, tuple[Path, FileStat | None]], bool]:
        found: dict[str, tuple[Path, FileStat | None]] = {}
        if self.needs_scan:
            for folder_rules in self.rules.values():
                for path, stat in walk(folder_rules):
                    found[path_to_uri(path)] = (path, stat)
            for uri in self.entries:
                gone = uri_to_path(uri) if uri not in found else None
                if gone is not None:
                    found[uri] = (gone, None)
            return found, True
        for changed_path in changed:
            rules = self.rules_for(changed_path)
            st = stat_file(rules, changed_path) if rules is not None else None
            found[path_to_uri(changed_path)] = (changed_path, st)
        return found, False

    def plan(
        self,
        *,
        session_id: str,
        label: str | None,
        reason: str,
        journal_lseq: int,
        buffers: list[BufferSnapshot],
        changed: set[Path],
        known_blobs: Callable[[Iterable[str]], set[str]],
        progress: Callable[[int, int], None] | None = None,
    ) -> Plan:
        """Work out the next checkpoint; reads files, writes nothing."""
        candidates, scanned = self._candidates(changed)
        entries = dict(self.entries)
        new_blobs: dict[str, bytes] = {}
        read = 0
        total = len(candidates)
        for i, (uri, (path, st)) in enumerate(candidates.items()):
            if progress is not None and i % 256 == 0:
                progress(i, total)
            old = entries.get(uri)
            if st is None:
                entries.pop(uri, None)
                continue
            if old is not None and old.size == st.size and old.mtime_ns == st.mtime_ns:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                entries.pop(uri, None)
                continue
            read += 1
            digest = blobs.blob_hash(data)
            entries[uri] = DiskEntry(digest, len(data), st.mtime_ns)
            if old is None or old.blob != digest:
                new_blobs[digest] = data

        buffer_entries: list[BufferEntry] = []
        for snap in buffers:
            if not self.may_store(snap.uri):
                continue
            data = snap.text.encode("utf-8", errors="surrogatepass")
            digest = blobs.blob_hash(data)
            new_blobs.setdefault(digest, data)
            buffer_entries.append(BufferEntry(snap.uri, digest, len(data), snap.version))

        delta = _delta(self.base_entries, entries)
        full = self.base_id is None or len(delta) > max(
            REBASE_MIN, len(self.base_entries) // REBASE_FRACTION
        )
        have = known_blobs(new_blobs)
        chunks: list[list[blobs.Prepared]] = [[]]
        size = 0
        for digest, data in new_blobs.items():
            if digest in have:
                continue
            if size >= CHUNK_BYTES:
                chunks.append([])
                size = 0
            prepared = blobs.prepare(data, digest)
            chunks[-1].append(prepared)
            size += len(prepared.stored)
        checkpoint = NewCheckpoint(
            session_id=session_id,
            workspace=self.workspace.key,
            label=label,
            reason=reason,
            journal_lseq=journal_lseq,
            base_id=None if full else self.base_id,
            disk={**entries} if full else delta,
            buffers=buffer_entries,
            files=len(entries) + len(buffer_entries),
            bytes=sum(e.size for e in entries.values()) + sum(b.size for b in buffer_entries),
        )
        if progress is not None:
            progress(total, total)
        return Plan(
            checkpoint=checkpoint,
            blob_chunks=[c for c in chunks if c],
            entries=entries,
            base_entries=entries if full else self.base_entries,
            base_is_new=full,
            read_files=read,
            scanned=scanned,
        )

    def take_changed(self) -> set[Path]:
        changed, self.changed_paths = self.changed_paths, set()
        return changed

    def committed(self, plan: Plan, checkpoint_id: int) -> None:
        """Adopt a plan once its checkpoint is in the store."""
        self.entries = plan.entries
        if plan.base_is_new:
            self.base_id = checkpoint_id
            self.base_entries = plan.entries
        if plan.scanned:
            self.needs_scan = False


def _delta(
    base: dict[str, DiskEntry], current: dict[str, DiskEntry]
) -> dict[str, DiskEntry | None]:
    delta: dict[str, DiskEntry | None] = {
        uri: e for uri, e in current.items() if base.get(uri) != e
    }
    for uri in base:
        if uri not in current:
            delta[uri] = None
    return delta
