"""Lines end at \\n, \\r\\n and \\r only, as LSP counts them: a form feed, a vertical tab,
U+0085, U+2028 or U+2029 inside a line (str.splitlines breaks at each) must not move an edit
to another line of SHIM's copy of the buffer, of its journal, or of what recovery brings back."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import Editors, journal_settled, stop_editor

from shim_lsp.codemods.edits import minimal_edits
from shim_lsp.textlines import split_lines

# Each odd character on a line of its own, then text below it.
ODD = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
BEFORE = "a = 1\n" + "".join(f"# {c} page\n" for c in ODD) + "b = 2\n"
ROW_B = 1 + len(ODD)
AFTER = BEFORE.replace("b = 2\n", "typed = 'below the odd lines'\nb = 2\n")


@pytest.mark.parametrize(
    "text",
    [BEFORE, "", "x", "x\r\ny\rz\n", "\r\r\n\n", "last\x0c", "\u2028\n", "a\r"],
)
def test_split_lines_breaks_where_lsp_does_and_keeps_every_character(text: str) -> None:
    lines = split_lines(text)
    assert "".join(lines) == text
    assert all(line.endswith(("\n", "\r")) for line in lines[:-1])
    assert len(lines) == text.count("\n") + text.count("\r") - text.count("\r\n") + (
        0 if text == "" or text.endswith(("\n", "\r")) else 1
    )


def test_a_codemod_edit_below_an_odd_character_lands_on_its_line() -> None:
    (edit,) = minimal_edits(BEFORE, AFTER, len)
    assert (edit.start_line, edit.start_char, edit.end_line, edit.end_char) == (
        ROW_B,
        0,
        ROW_B,
        0,
    )


async def test_typing_below_odd_line_breaks_is_kept_and_recovered_as_typed(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text(BEFORE, newline="")
    first = await editors.start(workspace, state_dir)
    uri = first.open("a.py", BEFORE)
    first.type(uri, ROW_B, 0, "typed = 'below the odd lines'\n")
    assert first.docs[uri].source == AFTER  # the test editor counts lines as LSP does too
    taken = await first.command("shim.forceCheckpoint", {"label": "odd lines"})
    compared = await first.command(
        "shim.compareWithCheckpoint", {"checkpoint": taken["id"], "uri": uri}
    )
    assert compared["text"] == AFTER, "the server's copy of the buffer"
    await journal_settled(first)
    first.kill()
    await first.client.stop()

    second = await editors.start(workspace, state_dir)
    recovered = await second.command("shim.recoveredText", {"uri": uri})
    assert recovered["text"] == AFTER, "the journal's replay"
    await stop_editor(second)
