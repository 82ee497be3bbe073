"""What a session says of itself (``shim.sessionStatus``, the status bar), from memory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shim_lsp.workspace.paths import valid_text

if TYPE_CHECKING:
    from shim_lsp.session.engine import SessionEngine


def session_status(engine: SessionEngine) -> dict[str, Any]:
    w = engine.writer.status()
    cps = engine.checkpoints
    last = cps.last
    unsaved = engine.buffers.unsaved()
    held = engine.held_events()
    return {
        "session": engine.info.id,
        "pid": engine.info.pid,
        "startedAt": engine.info.started_at,
        "folders": [valid_text(f) for f in engine.info.folders],
        "workspace": engine.info.workspace,
        "store": str(engine.db_path),
        "storeReady": w.ready,
        "storeError": w.error,
        "autoCheckpoint": engine.auto,
        "openDocuments": len(engine.buffers.buffers),
        "dirtyDocuments": unsaved.documents,
        "unprotectedDocuments": engine.unprotected_unsaved(),
        "maxFileSize": engine.settings.max_file_size,
        "unsavedBytes": unsaved.bytes,
        "oldestUnsavedAt": unsaved.oldest,
        "editsSinceCheckpoint": engine.buffers.edits_since_checkpoint,
        "journal": {
            "committed": w.committed,
            "pending": w.pending + held,
            "lagSeconds": round(w.oldest_pending_age, 3),
            "lastCommitAt": w.last_commit_at,
        },
        "lastCheckpoint": last.to_json() if last else None,
        "lastCheckpointAt": cps.last_at if last else cps.previous_at,
        "riskLevel": engine.risk.last.level if engine.risk.last else "low",
    }
