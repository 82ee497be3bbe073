"""python -m shim_lsp: the language server on stdio.

The cyclic garbage collector is off while the server's modules load (lsprotocol builds a
thousand classes, and collecting among them cost ~0.1 s of every start, measured), then on
again with what loaded frozen out of its reach: module-level objects live as long as the
process, and a frozen heap keeps the collections that run while the user types short.
"""

import gc

gc.disable()
from shim_lsp.server.main import serve  # noqa: E402

gc.freeze()
gc.enable()

raise SystemExit(serve())
