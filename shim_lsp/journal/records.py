"""One journal record per document event, as small as the event itself.

Changes are kept as the client sent them (ranges in the session's position encoding), so a
keystroke costs a few dozen bytes, not the whole buffer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lsprotocol import types

Kind = Literal["open", "snapshot", "change", "save", "close"]
"""snapshot: the full text of a buffer that was already dirty (written after clearing state)."""

# A change: [start_line, start_char, end_line, end_char, text], or [text] for a full replace.
Change = list[int | str]


@dataclass(frozen=True)
class Record:
    lseq: int
    """Order within the session, given when the event arrives (before it is committed)."""
    uri: str
    kind: Kind
    version: int | None
    ts: float
    data: str | None
    """open/snapshot: the full text; change: JSON list of changes; save/close: None."""
    disk_hash: str | None = None
    """open/snapshot/save: sha256 of the file as the session saw it at that very event."""


def encode_changes(changes: list[Change]) -> str:
    return json.dumps(changes, ensure_ascii=False, separators=(",", ":"))


def decode_changes(data: str) -> list[Change]:
    changes: list[Change] = json.loads(data)
    return changes


def from_lsp_change(change: types.TextDocumentContentChangeEvent) -> Change:
    from lsprotocol.types import TextDocumentContentChangePartial  # loaded: the server has it

    if isinstance(change, TextDocumentContentChangePartial):
        r = change.range
        return [r.start.line, r.start.character, r.end.line, r.end.character, change.text]
    return [change.text]
