"""What members of a group exchange: their registry records and the nudges on the workspace
channel. Every payload has a schema (attrs, structured strictly by cattrs) and a size limit;
what does not fit is dropped and counted by reason, never raised into a member's loop."""

from __future__ import annotations

import json
import posixpath
import re
import time
from collections import Counter
from typing import Any, Literal

import attrs
import cattrs

from shim_lsp.wire import is_text, strict

VERSION = 1
NUDGE_MAX_BYTES = 4 * 1024
"""A nudge names one document: anything larger is not one of ours."""
RECORD_MAX_BYTES = 1024 * 1024
"""A member's registry record, published unsaved text included (see ``TEXT_MAX_BYTES``)."""
TEXT_MAX_BYTES = 256 * 1024
"""A buffer larger than this is listed as dirty without its text, even when text is published."""
PATH_MAX = 1024
OPEN_MAX = 2000
"""Open documents one record may list (a member lists no more of its own)."""
DIRTY_MAX = 200
"""Unsaved documents one record may list: each is a diagnostic in every other window, so a
forged record cannot make a window publish thousands of them."""
STORE_ID_MAX = 64
SAVED_MAX = 50
"""Saves one record may list (the newest of each file): what a window that was away from
Redis when they happened reads when it is back."""
CLOCK_SKEW_S = 300.0
"""How far ahead of this machine's clock another member's ``since`` may be."""
NAME_MAX = 255
"""A host or editor name: shown in a terminal (``shim windows``) and in diagnostics."""
SESSION_ID = re.compile(r"[0-9a-f]{32}")
"""A session's id as SHIM makes them (uuid4, hex): it names stores' rows and recovery files."""
PID_MAX = 2**31 - 1

NudgeKind = Literal[
    "dirtied", "cleaned", "saved", "opened", "closed", "checkpoint", "joined", "left", "leader"
]


def _relative(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    """A workspace-relative POSIX path that stays inside the workspace: a member that reads it
    never reaches outside its own root with it."""
    normal = posixpath.normpath(value)
    if (
        not value
        or len(value) > PATH_MAX
        or not is_text(value)
        or value.startswith("/")
        or "\\" in value
        or normal != value
        or normal == ".."
        or normal.startswith("../")
        or (len(value) > 1 and value[1] == ":")
    ):
        raise ValueError(f"{attribute.name} is not a path inside the workspace")


def _since(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    """A time that was: after the epoch, not ahead of this clock by more than a small skew."""
    if not (0 < value <= time.time() + CLOCK_SKEW_S):
        raise ValueError(f"{attribute.name} is not a time that was")


def _session(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not SESSION_ID.fullmatch(value):
        raise ValueError(f"{attribute.name} is not a session id")


def _name(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    """Printable, one line, short: a forged name cannot drive the terminal that lists the
    windows (escape sequences), reorder what a diagnostic shows (bidi controls) or fill it."""
    if not value or len(value) > NAME_MAX or not value.isprintable():
        raise ValueError(f"{attribute.name} is not a name to show")


def _pid(_inst: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if not 0 < value <= PID_MAX:
        raise ValueError(f"{attribute.name} is not a process id")


def shown_name(value: str) -> str:
    """This member's own host or editor name made fit for its record (the editor's name is
    the client's to choose): what a record may not carry is replaced, the rest kept."""
    kept = "".join(c if c.isprintable() else "?" for c in value)[:NAME_MAX]
    return kept or "unknown"


def _at_most(limit: int) -> Any:
    return attrs.validators.max_len(limit)


@attrs.frozen
class DirtyDocument:
    path: str = attrs.field(validator=_relative)
    """Relative to the member's workspace folder, with forward slashes."""
    since: float = attrs.field(validator=_since)
    """When its oldest unsaved change was made (seconds since the epoch)."""
    text: str | None = None
    """The unsaved text, only with publishUnsavedText, never for a secret file."""


@attrs.frozen
class SavedDocument:
    """A save this member made: state in its record, so that a window that missed the
    "saved" nudge (pub/sub is at-most-once; Redis was away) still learns of it."""

    path: str = attrs.field(validator=_relative)
    at: float = attrs.field(validator=_since)


@attrs.frozen
class Member:
    """One window's SHIM server, as the registry holds it."""

    v: int
    session: str = attrs.field(validator=_session)
    workspace: str
    host: str = attrs.field(validator=_name)
    pid: int = attrs.field(validator=_pid)
    editor: str = attrs.field(validator=_name)
    started_at: float = attrs.field(validator=_since)
    heartbeat_at: float = attrs.field(validator=_since)
    open: list[str] = attrs.field(
        validator=[_at_most(OPEN_MAX), attrs.validators.deep_iterable(_relative)]
    )
    dirty: list[DirtyDocument] = attrs.field(validator=_at_most(DIRTY_MAX))
    store: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_at_most(STORE_ID_MAX))
    )
    """Which SQLite store the member writes (a digest of host and store path, no path): the
    leader's retention serves the members that share its store."""
    saved: list[SavedDocument] = attrs.field(factory=list, validator=_at_most(SAVED_MAX))
    """This member's latest saves, one per file, newest last."""


@attrs.frozen
class Nudge:
    """A hint that a member's state changed: the state itself is read from its record."""

    v: int
    kind: NudgeKind
    workspace: str
    session: str = attrs.field(validator=_session)
    at: float
    path: str | None = attrs.field(default=None, validator=attrs.validators.optional(_relative))


@attrs.define
class Dropped:
    """Messages refused, by reason: counted for the status, never raised."""

    counts: Counter[str] = attrs.field(factory=Counter)
    refused: set[bytes] = attrs.field(factory=set)
    """Digests of records already refused: a bad record read again at every look is the
    same one, counted once (the set is emptied when it grows large)."""

    def refused_before(self, key: bytes) -> bool:
        """Whether this record (by digest) was refused already; notes it as refused if not."""
        if key in self.refused:
            return True
        if len(self.refused) >= 1000:
            self.refused.clear()
        self.refused.add(key)
        return False

    def add(self, reason: str) -> None:
        self.counts[reason] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def encode(value: Member | Nudge) -> bytes:
    return json.dumps(strict.unstructure(value), separators=(",", ":")).encode()


def _decode(raw: bytes, kind: type[Any], limit: int, workspace: str, dropped: Dropped) -> Any:
    if len(raw) > limit:
        dropped.add("oversized")
        return None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError("not this version")
        value = strict.structure(data, kind)
    except (ValueError, TypeError, UnicodeDecodeError, cattrs.BaseValidationError):
        dropped.add("malformed")
        return None
    if value.workspace != workspace:
        dropped.add("foreign workspace")
        return None
    return value


def decode_nudge(raw: bytes, workspace: str, dropped: Dropped) -> Nudge | None:
    """The nudge, or None (counted in ``dropped``) for anything that is not one of this
    workspace's well-formed nudges."""
    found: Nudge | None = _decode(raw, Nudge, NUDGE_MAX_BYTES, workspace, dropped)
    return found


def decode_member(raw: bytes, workspace: str, dropped: Dropped) -> Member | None:
    found: Member | None = _decode(raw, Member, RECORD_MAX_BYTES, workspace, dropped)
    return found


def fit_texts(dirty: list[DirtyDocument]) -> list[DirtyDocument]:
    """Leave out texts that would take the record over its limit (largest first)."""
    kept: list[DirtyDocument] = []
    budget = RECORD_MAX_BYTES // 2
    for doc in sorted(dirty, key=lambda d: len(d.text or "")):
        size = len(doc.text.encode("utf-8", "surrogatepass")) if doc.text else 0
        if doc.text is not None and (size > TEXT_MAX_BYTES or size > budget):
            doc = attrs.evolve(doc, text=None)
            size = 0
        budget -= size
        kept.append(doc)
    return sorted(kept, key=lambda d: d.path)
