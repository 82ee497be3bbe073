"""A workspace codemod over the Django release shared through Redis and BullMQ: one window
of one worker against two windows of one worker each, in the same run.

    .venv/bin/python bench/windows_codemod.py [--runs 1] [--codemod unittest_to_assert]
        [--only 'tests/[a-c]*'] [--log DIR]

Each window is a real SHIM server over stdio with ``codemodBatchWorkers`` 1 and
``codemodJobs`` 1 (one codemod process per window), joined through a real ``redis-server``
on a free loopback port, emptied before each run (a finished batch's result is kept and
reused otherwise). The asking window runs ``shim.runCodemod`` over the workspace; the
edit it sends (``workspace/applyEdit``, not applied) must be the same in both setups.
Target: two windows at least 1.7x faster than one. ``--only`` keeps the Python files whose
path in the release matches one of its patterns (a run of a minute or two, to profile);
``--log`` keeps each window's log (level info: the run's phases, each batch's worker and time).
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from analysis import Client
from common import django_tree, fresh_copy

SHIM = [sys.executable, "-m", "shim_lsp"]


class Window(Client):
    """A window that keeps the edits SHIM asks it to apply, and applies none."""

    edits: list[Any]

    @classmethod
    async def open(
        cls, ws: Path, state: Path, settings: dict[str, Any], log: Path | None = None
    ) -> Window:
        env = {**os.environ, "SHIM_STATE_DIR": str(state)}
        if log is not None:
            env["SHIM_LOG_LEVEL"] = "info"
        with open(log, "ab") if log is not None else open(os.devnull, "wb") as err:
            proc = await asyncio.create_subprocess_exec(
                *SHIM,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                cwd=ws,
                env=env,
            )
        window = cls(proc, settings)
        window.edits = []
        caps = {"workspace": {"configuration": True, "applyEdit": True}}
        await window.request(
            "initialize",
            {
                "processId": os.getpid(),
                "capabilities": caps,
                "workspaceFolders": [{"uri": ws.as_uri(), "name": "ws"}],
            },
        )
        window.notify("initialized", {})
        return window

    def answer(self, method: str, params: Any) -> Any:
        """Edits are kept (to compare the runs), not applied."""
        if method == "workspace/applyEdit":
            self.edits.append(params["edit"])
            return {"applied": False, "failureReason": "benchmark: not applied"}
        return super().answer(method, params)

    async def members(self) -> int:
        answer = await self.request(
            "workspace/executeCommand", {"command": "shim.windows", "arguments": []}
        )
        return len(answer["result"].get("windows", []))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def redis_cli(port: int, *args: str) -> str:
    out = subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


async def one_run(
    ws: Path, tmp: Path, port: int, windows: int, codemod: str, n: int, logs: Path | None
) -> tuple[float, Any, Any]:
    """Seconds of the asking window's run with ``windows`` windows, its edit, its result."""
    redis_cli(port, "FLUSHALL")
    settings = {
        "redisUrl": f"redis://127.0.0.1:{port}/0",
        "workspaceId": "bench",
        "codemodBatchWorkers": 1,
        "codemodJobs": 1,
        "coordinationTtl": 15,
    }
    opened = [
        await Window.open(
            ws,
            tmp / f"state-{windows}-{n}-{i}",
            settings,
            logs / f"run{n + 1}-of-{windows}-window{i + 1}.log" if logs else None,
        )
        for i in range(windows)
    ]
    try:
        asker = opened[0]
        deadline = time.monotonic() + 60
        while await asker.members() < windows:
            assert time.monotonic() < deadline, "the windows never met"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # every window's BullMQ worker is up before the run
        started = time.perf_counter()
        answer = await asker.request(
            "workspace/executeCommand",
            {"command": "shim.runCodemod", "arguments": [{"name": codemod}]},
        )
        took = time.perf_counter() - started
        result = answer.get("result") or answer
        return took, asker.edits[-1] if asker.edits else None, result
    finally:
        for window in opened:
            await window.stop()


async def bench(ws: Path, tmp: Path, runs: int, codemod: str, logs: Path | None) -> int:
    redis = shutil.which("redis-server")
    if redis is None:
        print("redis-server is not installed")
        return 2
    port = free_port()
    args = [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    server = subprocess.Popen([*args, "no"], stdout=subprocess.DEVNULL, cwd=tmp)
    try:
        for _ in range(100):
            try:
                if redis_cli(port, "PING") == "PONG":
                    break
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.05)
        ones, twos, same = [], [], True
        shared: list[Any] = []
        for n in range(runs):
            # alternated, so that a change in the machine's load falls on both
            t1, edit1, r1 = await one_run(ws, tmp, port, 1, codemod, n, logs)
            t2, edit2, r2 = await one_run(ws, tmp, port, 2, codemod, n, logs)
            ones.append(t1)
            twos.append(t2)
            same = same and edit1 is not None and edit1 == edit2
            shared = [r1.get("shared"), r2.get("shared")]
            print(f"run {n + 1}: one window {t1:.1f} s, two windows {t2:.1f} s ({r1['summary']})")
        one, two = statistics.median(ones), statistics.median(twos)
        print(f"how the runs were shared (one, two windows): {shared}")
        print(f"{'case':<36} {'one window':>12} {'two windows':>12} {'speed-up':>9}  target")
        print(
            f"{codemod + ' over Django':<36} {one:>10.1f} s {two:>10.1f} s"
            f" {one / two:>8.2f}x  >= 1.7x, identical edits: {'yes' if same else 'NO'}"
        )
        return 0 if same else 1
    finally:
        server.terminate()
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--codemod", default="unittest_to_assert")
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN")
    parser.add_argument("--log", type=Path, metavar="DIR")
    args = parser.parse_args()
    tree = django_tree()
    if args.log:
        args.log.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ws = fresh_copy(tree, Path(tmp))
        for path in ws.rglob("*.py"):
            rel = path.relative_to(ws).as_posix()
            if args.only and not any(fnmatch.fnmatch(rel, p) for p in args.only):
                path.unlink()
        files = sum(1 for _ in ws.rglob("*.py"))
        only = f", only {' '.join(args.only)}" if args.only else ""
        print(f"workspace: {tree.name} ({files} Python files{only}), {os.cpu_count()} CPUs")
        return asyncio.run(bench(ws, Path(tmp), args.runs, args.codemod, args.log))


if __name__ == "__main__":
    sys.exit(main())
