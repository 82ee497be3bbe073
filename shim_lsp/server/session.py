"""The session feature: document events into the journal, and the session's own commands
(status, automatic checkpoints, risk signals, a checkpoint now).

pygls has already updated its copy of the text when a document event arrives here.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types

from shim_lsp.journal.records import from_lsp_change
from shim_lsp.server.feature import Feature, NoArgs, command
from shim_lsp.settings import Settings
from shim_lsp.store.checkpoints import check_label

if TYPE_CHECKING:
    from shim_lsp.session.engine import SessionEngine

log = logging.getLogger(__name__)


def count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


@attrs.define
class AutoCheckpointArgs:
    enabled: bool | None = None
    """Turn automatic checkpoints on (true) or off (false); omit to report."""


def _label(value: str | None) -> str | None:
    return check_label(value) if isinstance(value, str) else value


@attrs.define
class ForceCheckpointArgs:
    label: str | None = attrs.field(default=None, converter=_label)
    """A name: named checkpoints are kept until cleared."""


class SessionFeature(Feature):
    name = "session"

    def document_opened(self, uri: str, params: types.DidOpenTextDocumentParams) -> None:
        if self.ls.engine is not None:
            doc = params.text_document
            self.ls.engine.did_open(uri, doc.text, doc.version)

    def document_changed(self, uri: str, params: types.DidChangeTextDocumentParams) -> None:
        if self.ls.engine is None:
            return
        doc = self.ls.document(uri)
        size = len(doc.source) if doc is not None else 0
        changes = [from_lsp_change(c) for c in params.content_changes]
        self.ls.engine.did_change(uri, params.text_document.version, changes, size)

    def document_saved(self, uri: str) -> None:
        if self.ls.engine is not None:
            self.ls.engine.did_save(uri)

    def document_closed(self, uri: str) -> None:
        if self.ls.engine is not None:
            self.ls.engine.did_close(uri)

    def files_changed(self, paths: list[Path]) -> None:
        if self.ls.engine is not None:
            self.ls.engine.files_changed(paths)

    def settings_changed(self, old: Settings, new: Settings) -> None:
        if self.ls.engine is None:
            return
        if new.state_dir != old.state_dir:
            self.ls.tell_user("SHIM: a new stateDir takes effect when the server restarts")
        self.ls.engine.apply_settings(new)

    @command("shim.sessionStatus", quick=True)
    def session_status(self, engine: SessionEngine, _a: NoArgs) -> Any:
        return engine.status()

    @command("shim.autoCheckpoint", AutoCheckpointArgs, quick=True)
    def auto_checkpoint(self, engine: SessionEngine, a: AutoCheckpointArgs) -> Any:
        if a.enabled is not None:
            engine.auto = a.enabled
            self.ls.push_status()
        return {"enabled": engine.auto}

    @command("shim.monitorSignals")
    async def monitor_signals(self, engine: SessionEngine, _a: NoArgs) -> Any:
        return (await asyncio.to_thread(engine.assess)).to_json()

    @command("shim.forceCheckpoint", ForceCheckpointArgs)
    async def force_checkpoint(self, engine: SessionEngine, a: ForceCheckpointArgs) -> Any:
        result = await asyncio.wrap_future(engine.checkpoint(a.label, "manual"))
        self.ls.push_status()
        # The id is the store's, not the user's: in the debug log only.
        log.debug("checkpoint %s taken (%s)", result.id, a.label or "no label")
        self.ls.log_user(
            f"SHIM checkpoint{' ' + repr(a.label) if a.label else ''}: "
            f"{count(result.files, 'file')}, {count(result.buffers, 'unsaved buffer')}, "
            f"{result.seconds:.3f} s"
        )
        return result.to_json()
