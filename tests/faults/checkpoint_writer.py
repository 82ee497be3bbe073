"""Takes checkpoints in a loop, printing each id once the store acknowledged it."""

from __future__ import annotations

import sys
from pathlib import Path

from shim_lsp.session.engine import SessionEngine
from shim_lsp.settings import Settings

workspace, state_dir = Path(sys.argv[1]), Path(sys.argv[2])
engine = SessionEngine(Settings(state_dir=str(state_dir)), [workspace], text_source=lambda u: None)
engine.start()
i = 0
while True:
    i += 1
    target = workspace / f"f{i % 40}.py"
    target.write_text(f"content = {i!r}\n" + "x" * (i * 997 % 20000))
    engine.files_changed([target])
    result = engine.checkpoint().result()
    # One write per line: with PYTHONUNBUFFERED (set on some machines) print() writes each
    # piece on its own, and a kill between them left half a line to the test.
    sys.stdout.write(f"{result.id} {target.name} {i}\n")
    sys.stdout.flush()
