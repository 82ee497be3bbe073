"""What the session saw on disk is recorded at the open or save itself: a formatter or git
touching the file a few milliseconds later is a change `recover --in-place` must not overwrite."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from harness import Editors, journal_settled

OUTSIDE = "outside = 'written just after the event'\n"


@pytest.mark.parametrize("event", ["open", "save"])
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.1])
async def test_outside_change_just_after_the_event_is_not_overwritten(
    workspace: Path, state_dir: Path, event: str, delay: float, editors: Editors
) -> None:
    path = workspace / "a.py"
    path.write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("a.py")
    if event == "save":
        editor.type(uri, 1, 0, "saved = 2\n")
        editor.save(uri)
    await editor.command("shim.sessionStatus")  # the server has handled the event
    await asyncio.sleep(delay)
    path.write_text(OUTSIDE)
    editor.type(uri, 0, 0, "# unsaved\n")
    await journal_settled(editor)
    editor.kill()
    await editor.client.stop()

    where = ["--state-dir", str(state_dir), "--workspace", str(workspace)]
    refused = subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", "recover", "--in-place", *where],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and "changed on disk" in refused.stdout, refused.stdout
    assert path.read_text() == OUTSIDE
