"""The one way SHIM edits the editor's buffers: (old text, new text, version) in, a versioned
``TextDocumentEdit`` of minimal line edits out, counted in the negotiated position encoding.

Codemod runs, their undo and their code actions, checkpoint restores and recovery all build
their edits here, so an open buffer and a file on disk count positions the same way, and a
client without ``documentChanges`` (Neovim 0.7) gets the same edits by ``changes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
from lsprotocol import types

from shim_lsp.codemods.edits import minimal_edits
from shim_lsp.server import client
from shim_lsp.workspace.files import decode, read_bytes
from shim_lsp.workspace.paths import uri_to_path

if TYPE_CHECKING:
    from shim_lsp.server.app import ShimLanguageServer

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
