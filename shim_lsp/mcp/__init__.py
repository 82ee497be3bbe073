"""SHIM for AI chat sessions: an MCP server (the official SDK) over the same core as the
language server and the CLI. The only package that imports the ``mcp`` SDK; it imports
neither the language server (``shim_lsp.server``) nor pygls."""
