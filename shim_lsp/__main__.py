"""python -m shim_lsp: the language server on stdio."""

from shim_lsp.server.main import serve

raise SystemExit(serve())
