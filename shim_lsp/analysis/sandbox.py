"""Ruff started in a Landlock sandbox (Linux 5.13+) that reads nothing outside the folders it
is given, so that the search for links leading out (``links``) can run beside ruff instead
of before it: a link ruff follows out of the workspace is refused by the kernel (EACCES,
even for a pipe, which is never opened), whatever the search has found yet.

The sandbox is the child's alone. The ruleset is made in SHIM's thread (that restricts
nothing); a short-lived thread then restricts itself (Landlock and ``no_new_privs`` are a
thread's, not its process's) and starts ruff, which inherits that thread's domain across
``execve``; the thread ends. SHIM's other threads never run under it, and ``subprocess``
keeps its thread-safe ``vfork`` start (a ``preexec_fn`` in the child would run Python after a
fork of a threaded server, which ``subprocess`` warns may deadlock).

Four system calls through ctypes, not a package: PyPI's ``landlock`` 1.0.0.dev5 is a
pre-release whose checks read ``errno`` after a call that succeeded (a stale errno makes a
success an error) and never closes its ruleset; ``landlockpy`` 0.2.0 is a months-old beta.
Neither starts a child under a ruleset, which is all SHIM needs. Where Landlock is missing
(another kernel, macOS, Windows) or ``SHIM_NO_SANDBOX`` is set, ``available`` says 0 and
callers keep the safe order (the search first).

Standard library only: ``shim analyze`` starts ruff before anything else loads.
"""

from __future__ import annotations

import ctypes
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from shim_lsp.lazy_log import LazyLogger

log = LazyLogger(__name__)

DISABLE_ENV = "SHIM_NO_SANDBOX"
"""Set (to anything but empty or 0), ruff runs unsandboxed and after the search."""

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_VERSION = 1  # LANDLOCK_CREATE_RULESET_VERSION
_PATH_BENEATH = 1  # LANDLOCK_RULE_PATH_BENEATH
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, READ_FILE, READ_DIR = 1 << 0, 1 << 2, 1 << 3
_FILE_RIGHTS = EXECUTE | (1 << 1) | READ_FILE | (1 << 14) | (1 << 15)
"""The rights a rule on a file (not a folder) may grant: execute, write, read, truncate,
ioctl on a device."""


def _handled(abi: int) -> int:
    """Every file system right this ABI knows: all denied but what a rule grants (so ruff
    writes nothing either)."""
    rights = (1 << 13) - 1  # ABI 1: execute ... make a symbolic link
    if abi >= 2:
        rights |= 1 << 13  # refer
    if abi >= 3:
        rights |= 1 << 14  # truncate
    if abi >= 5:
        rights |= 1 << 15  # ioctl on a device
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is packed: 12 bytes
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc: Any = None
_abi: int | None = None


def _syscall(*args: Any) -> int:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    ctypes.set_errno(0)
    result = int(_libc.syscall(*args))
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def available() -> int:
    """The kernel's Landlock ABI version; 0 where there is none, or ``SHIM_NO_SANDBOX`` is
    set."""
    global _abi
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        return 0
    if _abi is None:
        _abi = 0
        if sys.platform == "linux":
            try:
                _abi = _syscall(
                    _CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION)
                )
            except OSError as exc:  # ENOSYS: not built in; EOPNOTSUPP: not enabled at boot
                log.info("Landlock is not available (%s): ruff runs after the link search", exc)
    return _abi


def _add(ruleset: int, path: str, rights: int) -> bool:
    """Grant ``rights`` beneath ``path`` (a file: only the file rights among them); False
    when it does not exist, or is neither a folder nor a regular file (a pipe allowed would
    be waited on)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISDIR(mode):
            if not stat.S_ISREG(mode):
                return False
            rights &= _FILE_RIGHTS
        attr = _PathBeneathAttr(rights, fd)
        _syscall(_ADD_RULE, ruleset, _PATH_BENEATH, ctypes.byref(attr), ctypes.c_uint32(0))
    finally:
        os.close(fd)
    return True


def ruleset(abi: int, read: Iterable[str], run: Iterable[str]) -> int:
    """A ruleset's file descriptor (the caller closes it): read-only beneath each of
    ``read``, read and execute beneath each of ``run``, nothing else anywhere. Paths that
    do not exist are left out. Raises OSError."""
    handled = _handled(abi)
    attr = _RulesetAttr(handled)
    fd = _syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), 0)
    try:
        for path in read:
            _add(fd, path, READ_FILE | READ_DIR)
        for path in run:
            _add(fd, path, READ_FILE | READ_DIR | EXECUTE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _restricted_popen(fd: int, cmd: Sequence[str], kwargs: dict[str, Any], out: list[Any]) -> None:
    """In a thread of its own: restricts itself, then starts ``cmd`` (which inherits it).
    The thread ends after; nothing else ever runs in it."""
    try:
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        _syscall(_RESTRICT_SELF, fd, ctypes.c_uint32(0))
        out.append(subprocess.Popen(cmd, **kwargs))
    except BaseException as exc:  # handed to the caller's thread
        out.append(exc)


SYSTEM_LIBRARIES = (
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/local/lib",
    "/etc/ld.so.cache",
)
"""What the dynamic loader reads to start a dynamically linked ruff (the manylinux wheel's):
read and execute there, nothing more of the system."""


def popen(
    abi: int, cmd: Sequence[str], read: Iterable[Path | str], **kwargs: Any
) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(cmd, **kwargs)`` run in a sandbox that reads beneath ``read``
    only (and runs ``cmd[0]`` with the system's libraries). Raises OSError when it cannot
    be started so; the caller then runs it its safe way: never unsandboxed here."""
    binary = os.path.realpath(cmd[0])
    fd = ruleset(abi, [str(p) for p in read], [binary, *SYSTEM_LIBRARIES])
    devnull = -1
    try:
        for name in ("stdin", "stdout", "stderr"):  # opened here: the thread cannot
            if kwargs.get(name) == subprocess.DEVNULL:
                if devnull < 0:
                    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                kwargs[name] = devnull
        out: list[Any] = []
        thread = threading.Thread(
            target=_restricted_popen, args=(fd, list(cmd), kwargs, out), name="shim-sandbox"
        )
        thread.start()
        thread.join()
    finally:
        os.close(fd)
        if devnull >= 0:
            os.close(devnull)
    if isinstance(out[0], BaseException):
        raise out[0]
    proc: subprocess.Popen[bytes] = out[0]
    return proc
