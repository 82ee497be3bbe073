"""The fast line split (``str.splitlines`` when the text has no other breaks) splits exactly
as the LSP counts lines, whatever the text holds."""

from __future__ import annotations

import random
import re

from shim_lsp.analysis.findings import line_starts, lines_of
from shim_lsp.lines import split_lines

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_LINE_END = re.compile(r"\r\n|\r|\n")
_PIECES = ["a", "é", "😀", " ", "\n", "\r", "\r\n", "\f", "\v", "\x1c", "\x85", "\u2028", "\u2029"]


def _texts() -> list[str]:
    rng = random.Random(12)
    texts = ["", "\n", "\r", "\r\n", "a", "a\n", "a\r\nb", "\n\n", "x\u2028y\n"]
    texts += ["".join(rng.choices(_PIECES, k=rng.randint(1, 30))) for _ in range(2000)]
    return texts


def test_lines_split_at_crlf_cr_and_lf_only_whatever_the_text_holds() -> None:
    for text in _texts():
        assert split_lines(text) == _LINE.findall(text), repr(text)
        starts = [0, *(m.end() for m in _LINE_END.finditer(text))]
        assert line_starts(text) == starts, repr(text)
        ends = [*starts[1:], len(text)]
        assert lines_of(text) == [text[a:b] for a, b in zip(starts, ends, strict=True)]


def test_an_edit_lands_where_pygls_puts_it_in_text_without_other_breaks() -> None:
    """The faster edit agrees with pygls's own on every range (inside a line, across lines,
    at and past the end, in UTF-16 units beyond the basic plane)."""
    from lsprotocol import types
    from pygls.workspace import TextDocument

    from shim_lsp.textlines import LspTextDocument

    rng = random.Random(12)
    pieces = ["a", "é", "😀", " ", "\n", "\r\n", "\r"]
    for _ in range(2000):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 20)))
        pos = [
            types.Position(line=rng.randint(0, 4), character=rng.randint(0, 5)) for _ in range(2)
        ]
        start, end = sorted(pos, key=lambda p: (p.line, p.character))
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=start, end=end), text=rng.choice(["", "x", "y\nz", "😀"])
        )
        ours = LspTextDocument("file:///a.py", text)
        theirs = TextDocument("file:///a.py", text)
        ours.apply_change(change)
        theirs.apply_change(change)
        assert ours.source == theirs.source, (text, change)
