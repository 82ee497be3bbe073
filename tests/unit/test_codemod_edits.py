"""Minimal edits, applied by pygls's own TextDocument, reproduce the new text exactly."""

from __future__ import annotations

import random

from lsprotocol import types as t

from shim_lsp.codemods.edits import minimal_edits
from shim_lsp.textlines import LspTextDocument


def utf16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def applied(old: str, new: str) -> str:
    doc = LspTextDocument("file:///x.py", old)
    edits = minimal_edits(old, new, utf16)
    for e in sorted(edits, key=lambda e: (e.start_line, e.start_char), reverse=True):
        doc.apply_change(
            t.TextDocumentContentChangePartial(
                range=t.Range(
                    start=t.Position(line=e.start_line, character=e.start_char),
                    end=t.Position(line=e.end_line, character=e.end_char),
                ),
                text=e.text,
            )
        )
    return doc.source


def test_only_changed_lines_are_edited() -> None:
    old = "a = 1\nb = 2\nc = 3\n"
    new = "a = 1\nb = 'two'\nc = 3\n"
    (edit,) = minimal_edits(old, new, utf16)
    assert (edit.start_line, edit.end_line, edit.text) == (1, 2, "b = 'two'\n")
    assert applied(old, new) == new


def test_round_trips_with_crlf_unterminated_lines_and_astral_characters() -> None:
    rng = random.Random(3)
    # A form feed and U+2028 sit inside a line for LSP (str.splitlines would break there).
    pieces = ["x = 1", "y = '😀'", "z = 'é'", "", "    pass", "# c", "\x0c", "s = '\u2028'"]
    for _ in range(300):
        nl = rng.choice(["\n", "\r\n"])
        old = nl.join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        new = nl.join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        if rng.random() < 0.5:
            old += nl
        if rng.random() < 0.5:
            new += nl
        assert applied(old, new) == new, (old, new)
