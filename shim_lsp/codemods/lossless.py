"""Putting back what libcst drops when it writes a file out again.

libcst's tokenizer discards a form feed (and the blanks before it) in the indentation of a
code line: ``\\x0cdef f():`` comes back as ``def f():`` from a module that no codemod
touched. A codemod's result is the original with the codemod's changes carried over line by
line, so nothing outside the change moves; a file where that cannot be done exactly is
refused, never written with its bytes silently altered.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import TypeVar

Text = TypeVar("Text", str, bytes)

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_LINE_BYTES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_BLANKS = " \t\x0c"


class Lossy(Exception):
    """The change cannot be carried onto the original without losing what libcst dropped;
    its message says where, in the user's words."""


def _lines(text: Text) -> list[Text]:
    if isinstance(text, bytes):
        return _LINE_BYTES.findall(text)
    return _LINE.findall(text)


def _body(line: Text) -> Text:
    """The line without its indentation."""
    if isinstance(line, bytes):
        return line.lstrip(_BLANKS.encode())
    return line.lstrip(_BLANKS)


def _indent(line: Text) -> Text:
    return line[: len(line) - len(_body(line))]


def keep_dropped(original: Text, written: Text, new: Text, reparse: Callable[[Text], Text]) -> Text:
    """``new`` (libcst's output after a codemod) with every line the codemod left as libcst
    wrote it (``written``, the untouched round trip) taken from ``original`` instead, and the
    indentation libcst dropped from a changed line put back when the line kept the rest of it.

    ``reparse`` turns text into libcst's round trip of it: the result must come back as
    ``new``, the codemod's own output, or :class:`Lossy` is raised.
    """
    old_lines, written_lines, new_lines = _lines(original), _lines(written), _lines(new)
    if len(old_lines) != len(written_lines) or any(
        _body(o) != _body(w) for o, w in zip(old_lines, written_lines, strict=True)
    ):
        raise Lossy("libcst cannot write this file back exactly")
    out: list[Text] = []
    matcher = difflib.SequenceMatcher(a=written_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(old_lines[i1:i2])
            continue
        lost = [i for i in range(i1, i2) if old_lines[i] != written_lines[i]]
        if not lost:
            out.extend(new_lines[j1:j2])
            continue
        if i2 - i1 != j2 - j1:
            raise Lossy(
                f"line {lost[0] + 1}: libcst would drop the form feed at the start of a line "
                "it changes"
            )
        for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
            if i not in lost:
                out.append(new_lines[j])
            elif new_lines[j].startswith(_indent(written_lines[i])):
                out.append(_indent(old_lines[i]) + new_lines[j][len(_indent(written_lines[i])) :])
            else:
                raise Lossy(
                    f"line {i + 1}: libcst would drop the form feed at the start of a line "
                    "it changes"
                )
    result = original[:0].join(out)
    if reparse(result) != new:
        raise Lossy("libcst cannot write this file back exactly")
    return result
