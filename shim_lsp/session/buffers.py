"""What the editor holds: open buffers, which are dirty, since when, and how much."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass
class Buffer:
    uri: str
    version: int | None
    size: int
    opened_at: float
    dirty_since: float | None = None
    last_edit_at: float | None = None
    unchecked_since: float | None = None
    """When the oldest unsaved change that no checkpoint holds yet was made."""
    unchecked_bytes: int = 0
    """About how much was typed since the last checkpoint that holds this buffer."""
    edits: int = 0
    """Its changes counted in ``edits_since_checkpoint`` (at most as many)."""


@dataclass(frozen=True)
class Unsaved:
    documents: int
    bytes: int
    oldest: float | None
    """When the oldest unsaved change was made."""
    unchecked_bytes: int = 0
    """About how much of it was typed since the last checkpoint that holds it."""
    oldest_unchecked: float | None = None


@dataclass
class BufferTracker:
    buffers: dict[str, Buffer]
    edits_since_checkpoint: int = 0
    last_edit_at: float | None = None

    @classmethod
    def empty(cls) -> BufferTracker:
        return cls({})

    def opened(
        self, uri: str, version: int | None, size: int, now: float, *, unsaved: bool = False
    ) -> None:
        """``unsaved``: it opened with text that is not the file's (see SessionEngine.did_open)."""
        since = now if unsaved else None
        self.buffers[uri] = Buffer(
            uri,
            version,
            size,
            now,
            dirty_since=since,
            unchecked_since=since,
            unchecked_bytes=size if unsaved else 0,
        )

    def changed(self, uri: str, version: int | None, size: int, now: float, typed: int = 1) -> None:
        """``typed``: about how many characters the change typed or removed."""
        buf = self.buffers.get(uri)
        if buf is None:
            buf = self.buffers[uri] = Buffer(uri, version, size, now)
        buf.version, buf.size, buf.last_edit_at = version, size, now
        buf.unchecked_bytes += typed
        buf.edits += 1
        if buf.dirty_since is None:
            buf.dirty_since = now
        if buf.unchecked_since is None:
            buf.unchecked_since = now
        self.edits_since_checkpoint += 1
        self.last_edit_at = now

    def saved(self, uri: str) -> None:
        buf = self.buffers.get(uri)
        if buf is not None:
            buf.dirty_since = buf.unchecked_since = None
            buf.unchecked_bytes = 0

    def closed(self, uri: str) -> None:
        self.buffers.pop(uri, None)

    def forget(self, uri: str) -> None:
        """A buffer SHIM turns out not to keep: as if it had never been counted."""
        buf = self.buffers.pop(uri, None)
        if buf is not None:
            self.edits_since_checkpoint = max(0, self.edits_since_checkpoint - buf.edits)

    def dirty(self) -> list[Buffer]:
        return [b for b in self.buffers.values() if b.dirty_since is not None]

    def unsaved(self, unprotected: Collection[str] = ()) -> Unsaved:
        """What is unsaved, in one pass: status and the risk model both need it.

        ``unprotected`` buffers (over maxFileSize) count as unsaved but not as text a
        checkpoint could secure: the user was told that only saving protects them."""
        dirty = self.dirty()
        oldest = min((b.dirty_since for b in dirty if b.dirty_since is not None), default=None)
        unchecked = [b for b in dirty if b.unchecked_since is not None and b.uri not in unprotected]
        return Unsaved(
            len(dirty),
            sum(b.size for b in dirty),
            oldest,
            sum(b.unchecked_bytes for b in unchecked),
            min((b.unchecked_since for b in unchecked if b.unchecked_since), default=None),
        )

    def checkpointed(self, edits_included: int, versions: dict[str, int | None]) -> None:
        """A checkpoint holds ``versions`` (uri -> the buffer version it stored): those
        buffers' unsaved text is secured, unless they changed again since."""
        self.edits_since_checkpoint = max(0, self.edits_since_checkpoint - edits_included)
        for each in self.buffers.values():
            each.edits = min(each.edits, self.edits_since_checkpoint)
        for uri, version in versions.items():
            buf = self.buffers.get(uri)
            if buf is not None and buf.version == version:
                buf.unchecked_since, buf.unchecked_bytes = None, 0
