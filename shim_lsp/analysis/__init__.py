"""Analysis of Python text by existing analysers (ruff), turned into SHIM's own findings.

Pure: no pygls, no CLI. The server's analysis feature and, later, ``shim analyze`` both call
down into it. Positions here are 0-based lines and code-point columns; a face converts them
to its own convention (LSP: the negotiated encoding) at its boundary.
"""
