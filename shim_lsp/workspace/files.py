"""Reading and writing file contents the way an editor shows them.

Editors hold text without the byte-order mark, decoded in the file's own encoding, so comparing
a buffer with the disk means decoding the same way (see ``encoding``), and writing recovered
text back means encoding it as the file was, mark included.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from collections.abc import Iterable
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


STAGED_SUFFIX = ".shim-tmp"


def remove_staged(paths: Iterable[Path]) -> list[Path]:
    """Remove the temporary files a write killed between staging and renaming left beside
    ``paths`` (``.NAME.XXXX.shim-tmp``: SHIM's own, never the user's); returns them."""
    removed = []
    for path in paths:
        for left in path.parent.glob(f".{glob.escape(path.name)}.*{STAGED_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                left.unlink()
                removed.append(left)
    return removed


def stage_beside(path: Path, data: bytes) -> str:
    """``data`` in a temporary file beside ``path``, synced, with the file's owner and mode
    when it exists (a rename over it would otherwise hand it to whoever runs SHIM)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=STAGED_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            st = path.stat()
            if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                # Only root (or an owner changing its group) may: otherwise the file becomes
                # the runner's, as any editor's save by rename does.
                with contextlib.suppress(PermissionError):
                    os.chown(tmp, st.st_uid, st.st_gid)
            os.chmod(tmp, st.st_mode & 0o7777)  # after chown, which clears set-id bits
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def read_only(path: Path) -> bool:
    """A file nobody may write by its mode, or this user may not: a rename over it would
    succeed (the folder is writable; root passes every check) and undo the user's choice."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    return not st.st_mode & 0o222 or not os.access(path, os.W_OK)


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename, so a crash never leaves half a file; a
    read-only file is refused (PermissionError), never replaced."""
    if read_only(path):
        raise PermissionError(
            errno.EACCES, "the file is read-only: make it writable first", str(path)
        )
    tmp = stage_beside(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
