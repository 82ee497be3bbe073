"""Lines as LSP counts them: a line ends at ``\\r\\n``, ``\\r`` or ``\\n`` and nowhere else.

``str.splitlines`` also breaks at a form feed, a vertical tab, ``\\x1c``-``\\x1e``, U+0085,
U+2028 and U+2029, which an editor shows inside a line. Counting lines that way puts an edit
below such a character on the wrong line: of the server's copy of a buffer (pygls's
``TextDocument`` splits with ``splitlines``), of the journal's replay, of a codemod's edit.
Every place that turns text into LSP lines uses this module instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pygls.workspace import TextDocument, Workspace

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """``text``'s lines, each with its line ending (the last one may have none)."""
    return _LINE.findall(text)


class LspTextDocument(TextDocument):
    """pygls's document, its lines counted as LSP counts them."""

    @property
    def lines(self) -> Sequence[str]:
        return tuple(split_lines(self.source))


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
