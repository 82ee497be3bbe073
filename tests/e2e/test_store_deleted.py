"""The store deleted under a running server: said plainly, started again, nothing lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness import Editors, journal_settled


async def test_a_store_deleted_while_in_use_is_said_and_the_work_journaled_again(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    first = await editors.start(workspace, state_dir, settings={"heartbeatInterval": 0.3})
    uri = first.open("a.py")
    first.type(uri, 1, 0, "before = 'the store was deleted'\n")
    await first.command("shim.forceCheckpoint", {"label": "before"})
    for f in state_dir.iterdir():
        if f.is_file():  # the store and its log; the metrics folder is not the store
            f.unlink()
    first.type(uri, 2, 0, "after = 'it was deleted'\n")
    await first.wait_for(lambda: any("was deleted or replaced" in m for m in first.shown_messages))
    await asyncio.sleep(0.3)
    await journal_settled(first)
    typed = first.docs[uri].source
    first.kill()
    await first.client.stop()

    second = await editors.start(workspace, state_dir, answers=["Restore all"])
    await second.wait_for(lambda: bool(second.edits))
    assert second.docs[uri].source == typed
