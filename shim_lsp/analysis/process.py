"""The analysers' child processes (ruff, jscpd's runner, mypy's client)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal


async def reap(proc: asyncio.subprocess.Process) -> None:
    """A run that timed out or was cancelled never leaves its process running: killed, and
    waited for even when the waiting task is cancelled itself."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the process group ``pid`` leads (a child started in its own session): what it
    started (a script's ``sleep``, a daemon's workers) ends with it, never orphaned."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def die_with_parent() -> None:
    """In a child, on Linux: the kernel ends it when SHIM ends, even killed (a daemon, a
    language server: children that would otherwise outlive it)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
