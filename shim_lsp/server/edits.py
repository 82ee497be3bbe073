"""The one way SHIM edits the editor's buffers: (old text, new text, version) in, a versioned
``TextDocumentEdit`` of minimal line edits out, counted in the negotiated position encoding.

Codemod runs, their undo and their code actions, checkpoint restores and recovery all build
their edits here, so an open buffer and a file on disk count positions the same way, and a
client without ``documentChanges`` (Neovim 0.7) gets the same edits by ``changes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcInvalidParams

from shim_lsp.codemods.edits import minimal_edits
from shim_lsp.server import client
from shim_lsp.server.feature import Feature, command
from shim_lsp.workspace.files import decode, read_bytes
from shim_lsp.workspace.paths import uri_to_path

if TYPE_CHECKING:
    from shim_lsp.server.app import ShimLanguageServer
    from shim_lsp.session.engine import SessionEngine

Edit = types.TextEdit | types.AnnotatedTextEdit


@attrs.frozen
class FileEdit:
    """The edits to one file: its canonical URI, the buffer version they were computed
    against (None for a file that is not open), and the edits."""

    uri: str
    version: int | None
    edits: list[Edit]


def line_edits(
    ls: ShimLanguageServer, old: str, new: str, annotation: str | None = None
) -> list[Edit]:
    """The smallest whole-line edits from ``old`` to ``new``: cursor, folds and undo history
    outside the changed lines survive."""
    units = ls.workspace.position_codec.client_num_units
    edits: list[Edit] = []
    for e in minimal_edits(old, new, units):
        where = types.Range(
            start=types.Position(line=e.start_line, character=e.start_char),
            end=types.Position(line=e.end_line, character=e.end_char),
        )
        if annotation is None:
            edits.append(types.TextEdit(range=where, new_text=e.text))
        else:
            edits.append(
                types.AnnotatedTextEdit(range=where, new_text=e.text, annotation_id=annotation)
            )
    return edits


def file_edit(
    ls: ShimLanguageServer,
    uri: str,
    old: str,
    new: str,
    version: int | None,
    annotation: str | None = None,
) -> FileEdit:
    return FileEdit(uri, version, line_edits(ls, old, new, annotation))


def workspace_edit(
    ls: ShimLanguageServer,
    files: Sequence[FileEdit],
    annotations: dict[str, types.ChangeAnnotation] | None = None,
) -> types.WorkspaceEdit:
    """Versioned ``documentChanges`` where the client takes them, else plain ``changes``
    (which carry neither versions nor annotations)."""
    if client.takes_document_changes(ls):
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=ls.client_uri(f.uri), version=f.version
                    ),
                    edits=list(f.edits),
                )
                for f in files
            ],
            change_annotations=annotations,
        )
    return types.WorkspaceEdit(
        changes={
            ls.client_uri(f.uri): [
                types.TextEdit(range=e.range, new_text=e.new_text) for e in f.edits
            ]
            for f in files
        }
    )


def text_now(ls: ShimLanguageServer, uri: str) -> tuple[str | None, int | None]:
    """The file's text as the editor has it: its open buffer and version, else the file on
    disk in its own encoding (version None); None when neither can be read."""
    doc = ls.document(uri)
    if doc is not None:
        return doc.source, doc.version
    path = uri_to_path(uri)
    data = read_bytes(path) if path is not None else None
    return (decode(data, path) if data is not None else None), None


async def apply(
    ls: ShimLanguageServer,
    files: Sequence[FileEdit],
    label: str,
    annotations: dict[str, types.ChangeAnnotation] | None = None,
) -> types.ApplyWorkspaceEditResult | None:
    """Send the edit (``workspace/applyEdit``); an error answer is logged and is None."""
    return await client.ask(
        ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=workspace_edit(ls, files, annotations), label=label)
        ),
        f"apply the edit {label!r}",
    )


APPLY_EDIT = "shim.applyEdit"
_LSP = get_converter()


def offer(ls: ShimLanguageServer, action: types.CodeAction, files: Sequence[FileEdit]) -> None:
    """Give a code action its edit. A client without ``documentChanges`` (Neovim 0.7) applies
    an unversioned edit to whatever its buffer holds by then: an edit made for the text before
    a keystroke would delete what was typed. Such a client gets a command instead, which SHIM
    runs only while every buffer is still at the version the edit was made for."""
    if client.takes_document_changes(ls):
        action.edit = workspace_edit(ls, files)
        return
    guarded = {
        "label": action.title,
        "files": [
            {
                "uri": ls.client_uri(f.uri),
                "version": f.version,
                "edits": [_LSP.unstructure(types.TextEdit(e.range, e.new_text)) for e in f.edits],
            }
            for f in files
        ],
    }
    action.command = types.Command(title=action.title, command=APPLY_EDIT, arguments=[guarded])


@attrs.define
class GuardedFile:
    uri: str
    version: int | None
    edits: list[dict[str, Any]]
    """``TextEdit``s as JSON."""


@attrs.define
class ApplyEditArgs:
    label: str
    files: list[GuardedFile]


class GuardedEditsFeature(Feature):
    """Runs the guarded edits ``offer`` hands to clients without versioned edits."""

    name = "edits"

    @command(APPLY_EDIT, ApplyEditArgs)
    async def apply_edit(self, engine: SessionEngine, a: ApplyEditArgs) -> Any:
        files = []
        for f in a.files:
            uri = self.ls.canonical(f.uri)
            doc = self.ls.document(uri)
            where = engine.workspace.shown(uri)
            if doc is None:  # the caller's mistake, not a change: it edits open buffers only
                raise JsonRpcInvalidParams(f"{where} is not open: only open buffers are edited")
            found = _text_edits(f.edits)
            if doc.version != f.version:
                self.ls.tell_user(
                    f"SHIM: {a.label!r} was offered for an older version of {where}, which"
                    " changed since; nothing was applied. Ask for it again.",
                    types.MessageType.Info,
                )
                return {"applied": False, "reason": f"{where} changed since the edit was made"}
            files.append(FileEdit(uri, f.version, list(found)))
        result = await apply(self.ls, files, a.label)
        applied = bool(result and result.applied)
        return {"applied": applied, "reason": None if applied else "the editor refused the edit"}


def _text_edits(edits: list[dict[str, Any]]) -> list[types.TextEdit]:
    """LSP ``TextEdit``s whose ranges start before they end; anything else is the caller's
    mistake (InvalidParams), said plainly."""
    try:
        found = [_LSP.structure(e, types.TextEdit) for e in edits]
    except Exception as exc:
        raise JsonRpcInvalidParams(f"files[].edits: not LSP TextEdits ({exc})") from exc
    for e in found:
        start, end = e.range.start, e.range.end
        if (start.line, start.character) > (end.line, end.character):
            raise JsonRpcInvalidParams(
                f"files[].edits: invalid range: it ends ({end.line}:{end.character}) before it"
                f" starts ({start.line}:{start.character})"
            )
    return found
