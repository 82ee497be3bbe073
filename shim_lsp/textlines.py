"""Lines as LSP counts them: a line ends at ``\\r\\n``, ``\\r`` or ``\\n`` and nowhere else.

``str.splitlines`` also breaks at a form feed, a vertical tab, ``\\x1c``-``\\x1e``, U+0085,
U+2028 and U+2029, which an editor shows inside a line. Counting lines that way puts an edit
below such a character on the wrong line: of the server's copy of a buffer (pygls's
``TextDocument`` splits with ``splitlines``), of the journal's replay, of a codemod's edit.
Every place that turns text into LSP lines uses this module instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from shim_lsp.lines import split_lines

__all__ = ["LspTextDocument", "LspWorkspace", "split_lines"]


class LspTextDocument(TextDocument):
    """pygls's document, its lines counted as LSP counts them."""

    @property
    def lines(self) -> Sequence[str]:
        return tuple(split_lines(self.source))

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        """pygls's edit, made by slicing and joining the lines instead of writing each one to
        a buffer (a keystroke in a 3,000-line file: 0.3 ms instead of 2)."""
        lines = self.lines
        where = self.position_codec.range_from_client_units(lines, change.range)
        start, end = where.start, where.end
        if start.line >= len(lines):  # at the very end of the text
            self._source = self.source + change.text
            return
        after = lines[end.line][end.character :] if end.line < len(lines) else ""
        self._source = "".join(
            (
                "".join(lines[: start.line]),
                lines[start.line][: start.character],
                change.text,
                after,
                "".join(lines[end.line + 1 :]),
            )
        )


class LspWorkspace(Workspace):
    """pygls's workspace, whose documents are :class:`LspTextDocument`."""

    def _create_text_document(
        self,
        doc_uri: str,
        source: str | None = None,
        version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        return LspTextDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=self._sync_kind,
            position_codec=self._position_codec,
        )
