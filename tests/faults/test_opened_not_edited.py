"""A file only opened is not unsaved work, whatever its bytes: a binary file or one in
another encoding, read by the editor with replacement characters, is not offered back."""

from __future__ import annotations

from pathlib import Path

from harness import Editors, stop_editor

BINARY = bytes(range(256)) * 16
LATIN1 = "caf\u00e9 = 'd\u00e9j\u00e0 vu'\n".encode("latin-1")


async def test_files_only_opened_are_not_unsaved_whatever_their_bytes(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "blob.bin").write_bytes(BINARY)
    (workspace / "latin.py").write_bytes(LATIN1)
    editor = await editors.start(workspace, state_dir)
    # As VS Code opens them by default: UTF-8 with replacement characters.
    editor.open("blob.bin", BINARY.decode("utf-8", "replace"))
    editor.open("latin.py", LATIN1.decode("utf-8", "replace"))
    status = await editor.command("shim.sessionStatus")
    assert status["openDocuments"] == 2
    assert status["dirtyDocuments"] == 0
    taken = await editor.command("shim.forceCheckpoint", {})
    assert taken["buffers"] == 0
    await stop_editor(editor)
    assert (workspace / "blob.bin").read_bytes() == BINARY
