"""maxFileSize applies to unsaved buffers too: a buffer over it is said to be unprotected and is
neither journaled nor checkpointed; once it is back under the cap it is protected again."""

from __future__ import annotations

from pathlib import Path

from harness import CAPABILITIES, Editor, Editors, journal_settled, stop_editor
from lsprotocol import types as t

from shim_lsp.store.db import DB_NAME, connect

CAP = 4096


async def _start(
    editors: Editors, workspace: Path, state_dir: Path, answers: list[str] | None = None
) -> Editor:
    """An editor whose server has maxFileSize from its very first event."""
    editor = await editors.start(workspace, state_dir, answers=answers, initialize=False)
    await editor.client.initialize_session(
        t.InitializeParams(
            capabilities=CAPABILITIES,
            workspace_folders=[t.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)],
            initialization_options={"maxFileSize": CAP},
        )
    )
    return editor


async def test_buffer_over_max_file_size_is_said_unprotected_and_not_stored(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "big.py").write_text("")
    (workspace / "small.py").write_text("")
    editor = await _start(editors, workspace, state_dir)
    big = editor.open("big.py", "x = 1\n" * 2000)  # 12,000 bytes
    editor.type(big, 0, 0, "# typed into a big buffer\n")
    small = editor.open("small.py")
    editor.type(small, 0, 0, "kept = 1\n")
    checkpoint = await editor.command("shim.forceCheckpoint", {"label": "big"})
    await journal_settled(editor)

    warnings = [m.message for m in editor.client.messages if "big.py" in m.message]
    assert len(warnings) == 1 and "not protected" in warnings[0] and "maxFileSize" in warnings[0]
    assert warnings[0].startswith("SHIM: big.py is not protected"), "SHIM's, and says so"
    with connect(state_dir / DB_NAME) as conn:
        journaled = {r[0] for r in conn.execute("SELECT DISTINCT uri FROM journal")}
        largest = conn.execute("SELECT MAX(LENGTH(data)) FROM journal").fetchone()[0]
        stored = {
            r[0]
            for r in conn.execute(
                "SELECT uri FROM entries WHERE checkpoint_id=? AND kind='buffer'",
                (checkpoint["id"],),
            )
        }
    assert journaled == {small}
    assert largest < CAP
    assert stored == {small}

    whole = t.Range(start=t.Position(line=0, character=0), end=t.Position(line=2001, character=0))
    editor.change(big, t.TextDocumentContentChangePartial(range=whole, text="y = 2\n"))
    editor.type(big, 1, 0, "z = 3\n")
    await journal_settled(editor)
    expected = editor.docs[big].source
    editor.kill()
    await editor.client.stop()

    after = await _start(editors, workspace, state_dir, answers=["Restore all"])
    await after.wait_for(lambda: big in after.docs and after.docs[big].source == expected)
    await stop_editor(after)


async def test_a_buffer_over_the_cap_does_not_raise_a_risk_a_checkpoint_cannot_lower(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Only saving protects it, and the user was told: the risk model weighs what a
    checkpoint can secure (riskUnsavedKb is 256 KiB; this buffer is 12 KB, its cap 4 KiB)."""
    (workspace / "big.py").write_text("")
    editor = await _start(editors, workspace, state_dir)
    big = editor.open("big.py", "x = 1\n" * 2000)
    for _ in range(300):  # 300 characters typed: well under the risk threshold alone
        editor.type(big, 0, 0, "#")
    await journal_settled(editor)
    signals = await editor.command("shim.monitorSignals")
    unsaved = next(s for s in signals["signals"] if s["name"] == "unsavedKb")
    assert unsaved["value"] == 0, "the over-cap buffer is not weighed as securable"


async def test_the_status_counts_an_unsaved_buffer_over_the_cap_as_not_protected(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """The status bar and Session Status must not call its work protected: they say how many
    unsaved files only saving keeps, and the cap they are over."""
    (workspace / "big.py").write_text("")
    (workspace / "small.py").write_text("")
    editor = await _start(editors, workspace, state_dir)
    big = editor.open("big.py", "x = 1\n" * 2000)
    editor.type(big, 0, 0, "#")
    small = editor.open("small.py")
    editor.type(small, 0, 0, "kept = 1\n")
    await journal_settled(editor)
    status = await editor.command("shim.sessionStatus")
    assert status["dirtyDocuments"] == 2
    assert status["unprotectedDocuments"] == 1
    assert status["maxFileSize"] == CAP

    def pushed() -> int | None:
        last = editor.statuses[-1] if editor.statuses else None
        return getattr(last, "unprotectedDocuments", None)

    await editor.wait_for(lambda: pushed() == 1)
    assert editor.statuses[-1].maxFileSize == CAP
    editor.save(big)
    await journal_settled(editor)
    status = await editor.command("shim.sessionStatus")
    assert status["unprotectedDocuments"] == 0
