"""What the editor holds: open buffers, which are dirty, since when, and how much."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Buffer:
    uri: str
    version: int | None
    size: int
    opened_at: float
    dirty_since: float | None = None
    last_edit_at: float | None = None
    at_risk_since: float | None = None
    """The oldest change no checkpoint holds yet: what a crash of the journal would cost."""


@dataclass(frozen=True)
class Unsaved:
    documents: int
    bytes: int
    oldest: float | None
    """When the oldest unsaved change was made."""


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
        self.buffers[uri] = Buffer(uri, version, size, now, dirty_since=since, at_risk_since=since)

    def changed(self, uri: str, version: int | None, size: int, now: float) -> None:
        buf = self.buffers.get(uri)
        if buf is None:
            buf = self.buffers[uri] = Buffer(uri, version, size, now)
        buf.version, buf.size, buf.last_edit_at = version, size, now
        if buf.dirty_since is None:
            buf.dirty_since = now
        if buf.at_risk_since is None:
            buf.at_risk_since = now
        self.edits_since_checkpoint += 1
        self.last_edit_at = now

    def saved(self, uri: str) -> None:
        buf = self.buffers.get(uri)
        if buf is not None:
            buf.dirty_since = buf.at_risk_since = None

    def closed(self, uri: str) -> None:
        self.buffers.pop(uri, None)

    def dirty(self) -> list[Buffer]:
        return [b for b in self.buffers.values() if b.dirty_since is not None]

    def unsaved(self) -> Unsaved:
        """What is unsaved, in one pass: status and the risk model both need it."""
        dirty = self.dirty()
        oldest = min((b.dirty_since for b in dirty if b.dirty_since is not None), default=None)
        return Unsaved(len(dirty), sum(b.size for b in dirty), oldest)

    def at_risk(self) -> Unsaved:
        """Unsaved work no checkpoint holds: what the risk model weighs."""
        held = [b for b in self.buffers.values() if b.at_risk_since is not None]
        oldest = min((b.at_risk_since for b in held if b.at_risk_since is not None), default=None)
        return Unsaved(len(held), sum(b.size for b in held), oldest)

    def checkpointed(self, edits_included: int, taken_at: float) -> None:
        """A checkpoint of the buffers as they were at ``taken_at`` was committed."""
        self.edits_since_checkpoint = max(0, self.edits_since_checkpoint - edits_included)
        for buf in self.buffers.values():
            if buf.last_edit_at is None or buf.last_edit_at <= taken_at:
                buf.at_risk_since = None
