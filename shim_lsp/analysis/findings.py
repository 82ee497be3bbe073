"""What an analyser found in a text, and the text edits that fix it.

Lines split at ``\\r\\n``, ``\\r`` and ``\\n`` only, as ruff and the LSP count them (not at the
form feeds and other separators that ``str.splitlines`` also takes); columns count code points.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import Literal, NamedTuple

from shim_lsp.lines import split_lines

Applicability = Literal["safe", "unsafe", "display-only"]
Tag = Literal["unnecessary", "deprecated"]
Severity = Literal["error", "warning", "information"]


# Named tuples, not attrs classes: ``shim analyze`` reads ruff's JSON into them, and attrs
# alone takes longer to load than it may spend on its own work beside ruff.


class Spot(NamedTuple):
    """A place in a text: 0-based line, 0-based column in code points."""

    line: int
    column: int


class Replacement(NamedTuple):
    """Replace the text from ``start`` to ``end`` with ``content``."""

    start: Spot
    end: Spot
    content: str


class Fix(NamedTuple):
    applicability: Applicability
    """``safe`` keeps what the code does; ``unsafe`` may change it; ``display-only`` is a
    suggestion never applied."""
    message: str | None
    replacements: tuple[Replacement, ...]


class Finding(NamedTuple):
    code: str | None
    """The rule code (``F401``); None for a syntax error."""
    message: str
    start: Spot
    end: Spot
    url: str | None = None
    """The rule's documentation."""
    fix: Fix | None = None
    noqa_line: int | None = None
    """The line a ``# noqa`` comment for this finding goes on (the last line of a
    multi-line string, say); None when it cannot be suppressed (a syntax error)."""
    tags: frozenset[Tag] = frozenset()
    severity: Severity = "warning"
    """A syntax error is an error; a function over the complexity threshold is information
    (a measure to weigh, not a mistake); every other rule's finding a warning."""
    cell: int | None = None
    """In a Jupyter notebook, the cell (1-based) whose text ``start`` and ``end`` are in."""


def finding_json(path: str, f: Finding) -> dict[str, object]:
    """A finding as ``shim analyze --json`` prints it (1-based lines and columns, as ruff's
    JSON), ``path`` as its face shows it."""
    return {
        "path": path,
        "code": f.code,
        "message": f.message,
        "severity": f.severity,
        "line": f.start.line + 1,
        "column": f.start.column + 1,
        "end_line": f.end.line + 1,
        "end_column": f.end.column + 1,
        "url": f.url,
        "fixable": f.fix is not None and f.fix.applicability != "display-only",
        **({"cell": f.cell} if f.cell is not None else {}),
    }


def line_starts(text: str) -> list[int]:
    """The offset of each line's first character; a text ending in a newline has an empty
    last line."""
    starts = [0, *accumulate(map(len, split_lines(text)))]
    if text and not _ends_line(text):
        starts.pop()  # the end of the last line, which is no line's start
    return starts


def _ends_line(text: str) -> bool:
    return text.endswith(("\n", "\r"))


def lines_of(text: str) -> list[str]:
    """The text's lines with their line ends, split as ruff and the LSP split them (a text
    ending in a line break, or empty, ends with an empty line)."""
    lines = split_lines(text)
    if not text or _ends_line(text):
        lines.append("")
    return lines


def offset(starts: Sequence[int], text_length: int, spot: Spot) -> int:
    """The offset of a spot; one past the last line is the end of the text."""
    if spot.line >= len(starts):
        return text_length
    return min(starts[spot.line] + spot.column, text_length)


def apply(text: str, replacements: Sequence[Replacement]) -> str:
    """The text with the replacements made; they must not overlap (a fix's edits never do)."""
    starts = line_starts(text)
    spans = sorted(
        (offset(starts, len(text), r.start), offset(starts, len(text), r.end), r.content)
        for r in replacements
    )
    out, at = [], 0
    for begin, end, content in spans:
        if begin < at:
            raise ValueError("overlapping replacements")
        out += [text[at:begin], content]
        at = end
    out.append(text[at:])
    return "".join(out)
