"""Reading and writing file contents the way an editor shows them.

Editors hold text without the UTF-8 BOM and with the file's own line endings, so comparing a
buffer with the disk means decoding the same way, and writing recovered text back means
putting the BOM back.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from pathlib import Path


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def decode(data: bytes) -> str:
    """Text as an editor would show it: UTF-8 (BOM dropped), else Latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def encode_like(text: str, original: bytes | None) -> bytes:
    """Bytes for ``text``, keeping the original file's BOM and its Latin-1 encoding."""
    if original is not None:
        try:
            original.decode("utf-8")
        except UnicodeDecodeError:
            try:
                return text.encode("latin-1")
            except UnicodeEncodeError:
                pass
        if original.startswith(codecs.BOM_UTF8):
            return codecs.BOM_UTF8 + text.encode("utf-8")
    return text.encode("utf-8", errors="surrogatepass")


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
