from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shim_lsp.session.engine import SessionEngine
from shim_lsp.settings import Settings


def engine_for(
    workspace: Path, state_dir: Path, texts: dict[str, str] | None = None, **settings: object
) -> SessionEngine:
    """A started engine whose buffers are read from ``texts`` (uri -> text)."""
    buffers = texts if texts is not None else {}
    engine = SessionEngine(
        Settings(state_dir=str(state_dir), **settings),  # type: ignore[arg-type]
        [workspace],
        text_source=lambda uri: (buffers[uri], None) if uri in buffers else None,
    )
    engine.start()
    return engine


def shim_codemod(
    *args: str, cwd: Path, pythonpath: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``shim codemod ARGS`` run in ``cwd`` as a user runs it; ``pythonpath`` adds folders
    codemod modules are imported from (a .libcst.codemod.yaml there may name them)."""
    path = os.pathsep.join([*map(str, pythonpath), os.getcwd()])
    return subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", "codemod", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": path},
    )
