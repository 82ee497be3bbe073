"""A full disk or a read-only state folder: editing goes on, the user is told, and nothing typed
meanwhile is lost once the store can be written again."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Editor, Editors, journal_settled, stop_editor


@contextlib.contextmanager
def tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A small tmpfs of our own, or a skip where the tests may not mount one."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


async def _type_lines(editor: Editor, uri: str, first: int, count: int) -> None:
    for i in range(first, first + count):
        editor.type(uri, i, 0, f"line_{i} = {'x' * 60}\n")
    await editor.command("shim.sessionStatus")


async def _recovered(editors: Editors, workspace: Path, state_dir: Path, uri: str) -> str:
    after = await editors.start(workspace, state_dir, answers=["Restore all"])
    try:
        await after.wait_for(lambda: bool(after.edits))
        return after.docs[uri].source
    finally:
        await stop_editor(after)


async def test_full_disk_keeps_every_edit_until_space_returns(
    workspace: Path, tmp_path: Path, editors: Editors
) -> None:
    with tmpfs(tmp_path / "small", "size=2m") as small:
        state_dir = small / "state"
        (workspace / "a.py").write_text("")
        editor = await editors.start(workspace, state_dir)
        try:
            uri = editor.open("a.py")
            await _type_lines(editor, uri, 0, 10)
            await journal_settled(editor)
            filler = small / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as f:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            await _type_lines(editor, uri, 10, 400)
            await editor.wait_for(
                lambda: any("full" in m.message for m in editor.client.messages), 20
            )
            status = await editor.command("shim.sessionStatus")
            assert status["storeError"] and status["journal"]["pending"] > 0
            filler.unlink()
            await _type_lines(editor, uri, 410, 10)
            await journal_settled(editor)
            expected = editor.docs[uri].source
            editor.kill()
        finally:
            await editor.client.stop()
        assert await _recovered(editors, workspace, state_dir, uri) == expected


async def test_read_only_state_folder_keeps_edits_until_it_is_writable(
    workspace: Path, tmp_path: Path, editors: Editors
) -> None:
    if os.geteuid() == 0:  # root writes through modes: make the folder a read-only mount
        ctx: contextlib.AbstractContextManager[Path] = tmpfs(tmp_path / "ro", "size=4m,ro")
    else:
        ctx = contextlib.nullcontext(tmp_path / "ro")
        (tmp_path / "ro").mkdir(mode=0o500)
    with ctx as folder:
        state_dir = folder / "state"
        (workspace / "a.py").write_text("")
        editor = await editors.start(workspace, state_dir)
        try:
            uri = editor.open("a.py")
            await _type_lines(editor, uri, 0, 20)
            status = await editor.command("shim.sessionStatus")
            assert status["storeError"] and status["journal"]["pending"] == 21
            assert any("kept in memory" in m.message for m in editor.client.messages)
            if os.geteuid() == 0:
                subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
            else:
                folder.chmod(0o700)
            await _type_lines(editor, uri, 20, 5)
            await journal_settled(editor)
            status = await editor.command("shim.sessionStatus")
            assert status["storeError"] is None
            expected = editor.docs[uri].source
            editor.kill()
        finally:
            await editor.client.stop()
        assert await _recovered(editors, workspace, state_dir, uri) == expected
