"""Reading and writing file contents the way an editor shows them.

Editors hold text without the byte-order mark, decoded in the file's own encoding, so comparing
a buffer with the disk means decoding the same way (see ``encoding``), and writing recovered
text back means encoding it as the file was, mark included.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shim_lsp.workspace import encoding


def decode(data: bytes, path: Path | None = None) -> str:
    """Text as an editor shows the file at ``path`` (its name tells whether a cookie counts)."""
    return encoding.decode(data, path)[0]


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename, so a crash never leaves half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".shim-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
