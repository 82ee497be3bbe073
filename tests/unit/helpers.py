from __future__ import annotations

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
