"""Paths outside the workspace, links out of it, binary and huge buffers."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from harness import Editors, stop_editor
from pygls.exceptions import JsonRpcInvalidParams

from shim_lsp.store import checkpoints as cps
from shim_lsp.store.db import DB_NAME, connect


async def test_outside_files_and_links_out_are_never_stored(
    tmp_path: Path, workspace: Path, state_dir: Path, editors: Editors
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("outside = True\n")
    os.symlink(outside, workspace / "link_out")
    os.symlink(outside / "secret.py", workspace / "file_link.py")
    (workspace / "inside.py").write_text("inside = True\n")

    editor = await editors.start(workspace, state_dir)
    stray = editor.open("../outside/secret.py", "outside = True\n")
    editor.type(stray, 0, 0, "# typed outside\n")
    editor.type(editor.open("inside.py"), 0, 0, "# typed inside\n")
    result = await editor.command("shim.forceCheckpoint", {"label": "x"})
    with connect(state_dir / DB_NAME) as conn:
        uris = set(cps.disk_manifest(conn, result["id"])) | {
            b.uri for b in cps.buffers(conn, result["id"])
        }
        journaled = {r[0] for r in conn.execute("SELECT uri FROM journal")}
    assert uris == {(workspace / "inside.py").as_uri()}
    assert stray not in journaled
    with pytest.raises(JsonRpcInvalidParams):
        await editor.command("shim.restoreCheckpoint", {"checkpoint": result["id"], "uri": stray})
    await stop_editor(editor)


async def test_binary_nul_and_huge_buffers_round_trip(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "weird.py").write_text("")
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("weird.py", "")
    editor.type(uri, 0, 0, "nul:\x00 bell:\x07 bom-inside:\ufeff lone-cr:\r end\n")
    # About 1.8 MB: large, yet under the default maxFileSize (a larger buffer is not protected).
    big = "".join(f"line_{i} = {'y' * 80}\n" for i in range(20_000))
    editor.type(uri, 1, 0, big)
    result = await editor.command("shim.forceCheckpoint", {"label": "weird"})
    compared = await editor.command(
        "shim.compareWithCheckpoint", {"checkpoint": result["id"], "uri": uri}
    )
    assert compared["text"] == editor.docs[uri].source and compared["same"] is True
    with pytest.raises(JsonRpcInvalidParams, match="no checkpoint 999"):
        await editor.command("shim.compareWithCheckpoint", {"checkpoint": 999, "uri": uri})
    await asyncio.sleep(0)
    await stop_editor(editor)
