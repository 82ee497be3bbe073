"""The smallest line-level edits that turn one text into another.

Edits replace whole lines, so their positions need no character arithmetic except at the end
of a text without a final newline, where the caller's ``units`` counts the line in the
client's position encoding. Cursor, folds and undo history outside the changed lines survive.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from shim_lsp.textlines import split_lines


@dataclass(frozen=True)
class LineEdit:
    start_line: int
    start_char: int
    end_line: int
    end_char: int
    text: str


def minimal_edits(old: str, new: str, units: Callable[[str], int]) -> list[LineEdit]:
    old_lines = split_lines(old)
    new_lines = split_lines(new)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    edits = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        end_line, end_char = i2, 0
        if i2 == len(old_lines) and old_lines and not old_lines[-1].endswith(("\n", "\r")):
            end_line, end_char = i2 - 1, units(old_lines[-1])
            if i1 == i2:  # inserting after an unterminated last line
                edits.append(
                    LineEdit(end_line, end_char, end_line, end_char, "".join(new_lines[j1:j2]))
                )
                continue
        edits.append(LineEdit(i1, 0, end_line, end_char, "".join(new_lines[j1:j2])))
    return edits
