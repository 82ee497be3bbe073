"""Lines added and removed between a file's versions: what a file history shows ("+12 -3").

Each version is compared with the next older one whose content differs (a deleted version is
empty), so every checkpoint that holds the same text carries the same counts. The counts are
those of a minimal line diff (Myers): difflib's SequenceMatcher takes minutes on a file of
repeated lines without its junk heuristic and miscounts with it. What would cost too much (a
huge file, a rewrite, a long history) is left uncounted, and the answer says why.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from shim_lsp.store import blobs
from shim_lsp.store import checkpoints as cps
from shim_lsp.store.checkpoints import FileVersion
from shim_lsp.textlines import split_lines
from shim_lsp.workspace.files import decode
from shim_lsp.workspace.paths import uri_to_path

OLDEST = "oldest"
"""No older version in the store to compare with (SHIM may have first seen the file then)."""
TOO_LARGE = "tooLarge"
BINARY = "binary"
MANY_CHANGES = "manyChanges"
"""More lines changed than ``Limits.max_changed``: counting them exactly costs too much."""
TIME_BUDGET = "timeBudget"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1024 * 1024
    """A version larger than this is not compared."""
    max_changed: int = 2000
    """Counting stops past this many changed lines (the cost grows with their square)."""
    seconds: float = 2.0
    """For the whole answer: versions left when it runs out are not counted."""


@dataclass(frozen=True)
class Lines:
    """A version's lines, and the lines added and removed since the older version."""

    added: int | None = None
    removed: int | None = None
    total: int | None = None
    """Lines in this version (None: deleted, or not read)."""
    uncounted: str | None = None
    """Why ``added`` and ``removed`` are None: one of the constants above."""

    def to_json(self) -> dict[str, object]:
        return {
            "linesAdded": self.added,
            "linesRemoved": self.removed,
            "lines": self.total,
            "linesUncounted": self.uncounted,
        }


def _edit_distance(a: Sequence[int], b: Sequence[int], max_d: int) -> int | None:
    """Lines deleted plus inserted by a shortest edit script (Myers 1986, forward greedy),
    or None past ``max_d``. Only the furthest point per diagonal is kept: O(N + M) space."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return n + m if n + m <= max_d else None
    v = [0] * (2 * max_d + 3)  # v[k], k in [-d - 1, d + 1]; negative k index from the end
    for d in range(max_d + 1):
        for k in range(-d, d + 1, 2):
            # Down (a line of b inserted) from diagonal k + 1, or right (a line of a deleted)
            # from k - 1: whichever got further.
            down = k == -d or (k != d and v[k - 1] < v[k + 1])
            x = v[k + 1] if down else v[k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            v[k] = x
            if x >= n and y >= m:
                return d
    return None


def count_changes(before: str, after: str, max_changed: int = 2000) -> tuple[int, int] | None:
    """(added, removed) lines from ``before`` to ``after`` as a minimal diff counts them, or
    None when more than ``max_changed`` lines changed. A line keeps its ending: a changed
    line ending or last newline is a changed line, as Git counts it."""
    a = split_lines(before)
    b = split_lines(after)
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    ids: dict[str, int] = {}
    x = [ids.setdefault(line, len(ids)) for line in a[start:end_a]]
    y = [ids.setdefault(line, len(ids)) for line in b[start:end_b]]
    d = _edit_distance(x, y, max_changed)
    if d is None:
        return None
    common = (len(x) + len(y) - d) // 2
    return len(y) - common, len(x) - common


def version_lines(
    versions: Sequence[FileVersion],
    count: int,
    text: Callable[[FileVersion], str | None],
    limits: Limits = Limits(),
    clock: Callable[[], float] = time.monotonic,
) -> list[Lines]:
    """Lines of the first ``count`` of a file's versions (newest first, as ``file_history``
    lists them), each against the next older version with other content.

    ``text`` reads a version that exists (None: its blob is gone); it is called only for
    versions within ``limits.max_bytes``, newest first, while the time lasts.
    """
    deadline = clock() + limits.seconds
    out: list[Lines] = []
    known: dict[tuple[str | None, str | None], Lines] = {}
    for i, version in enumerate(versions[:count]):
        older = next((v for v in versions[i + 1 :] if v.blob != version.blob), None)
        key = (version.blob, older.blob if older is not None else "")
        if key not in known:
            known[key] = _lines(version, older, text, limits, deadline, clock)
        out.append(known[key])
    return out


def _lines(
    version: FileVersion,
    older: FileVersion | None,
    text: Callable[[FileVersion], str | None],
    limits: Limits,
    deadline: float,
    clock: Callable[[], float],
) -> Lines:
    sides = (version,) if older is None else (version, older)
    if any((v.size or 0) > limits.max_bytes for v in sides):
        return Lines(uncounted=TOO_LARGE)
    if clock() > deadline:
        return Lines(uncounted=TIME_BUDGET)
    texts = ["" if v.blob is None else text(v) for v in sides]
    if any(t is None for t in texts):
        return Lines(uncounted=UNREADABLE)
    if any("\0" in t for t in texts if t is not None):
        return Lines(uncounted=BINARY)
    new = texts[0] or ""
    total = None if version.blob is None else len(split_lines(new))
    if older is None:
        return Lines(total=total, uncounted=OLDEST)
    counted = count_changes(texts[1] or "", new, limits.max_changed)
    if counted is None:
        return Lines(total=total, uncounted=MANY_CHANGES)
    return Lines(added=counted[0], removed=counted[1], total=total)


def file_history_json(
    conn: sqlite3.Connection, workspace: str, uri: str, limit: int, limits: Limits = Limits()
) -> list[dict[str, object]]:
    """``shim.listCheckpoints`` with a URI: the file's versions with their lines, as JSON."""
    versions = cps.file_history(conn, workspace, uri)
    path = uri_to_path(uri)

    @lru_cache(maxsize=4)  # the older side of one comparison is the newer side of the next
    def read(blob: str, kind: str) -> str | None:
        try:
            data = blobs.get(conn, blob)
        except ValueError:  # damaged: the listing goes on without its counts
            return None
        if data is None:
            return None
        return blobs.buffer_text(data) if kind == "buffer" else decode(data, path)

    def text(v: FileVersion) -> str | None:
        return read(v.blob, v.kind) if v.blob is not None else ""

    lines = version_lines(versions, limit, text, limits)
    return [{**v.to_json(), **n.to_json()} for v, n in zip(versions, lines, strict=False)]
