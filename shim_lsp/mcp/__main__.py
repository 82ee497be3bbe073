"""``python -m shim_lsp.mcp``: the same as ``shim mcp``."""

import sys

from shim_lsp.cli import main

sys.exit(main(["mcp", *sys.argv[1:]]))
