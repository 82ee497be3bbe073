"""The analysers' child processes (ruff, jscpd's runner, mypy's client)."""

from __future__ import annotations

import asyncio
import contextlib


async def reap(proc: asyncio.subprocess.Process) -> None:
    """A run that timed out or was cancelled never leaves its process running: killed, and
    waited for even when the waiting task is cancelled itself."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
