"""SHIM's MCP face beside its language server, on the Django source release, in one run.

    .venv/bin/python bench/mcp_tools.py [--runs 30]

Round trips (p50) of session status and of a forced checkpoint after one file changed, through
``shim mcp`` (the MCP SDK's own stdio client) and through ``python -m shim_lsp`` (LSP over
stdio, ``shim.sessionStatus`` and ``shim.forceCheckpoint``), each on its own fresh copy of
Django and its own store; and start-up to the first ``tools/list`` answer beside start-up to
the LSP ``initialize`` answer; a codemod dry run over the tree (``print_to_logging``, which
parses the few files holding ``print``) through ``shim_run_codemod`` beside ``shim codemod
--diff`` (its process start included, as a shell user pays it). The floor, a tool answered
from memory, is the SDK's own cost (JSON-RPC over stdio, argument and result validation).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from common import django_tree, fresh_copy
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from run import SHIM, answer, frame, spawn, stop

CHANGED = Path("django") / "utils" / "text.py"
CODEMOD = "print_to_logging"
CODEMOD_RUNS = 3


async def p50(step: Callable[[int], Awaitable[object]], runs: int) -> float:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        await step(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def touch(ws: Path, i: int) -> None:
    with open(ws / CHANGED, "a") as f:
        f.write(f"# edit {i}\n")


async def through_mcp(
    ws: Path, state: Path, runs: int, redis_url: str | None = None
) -> dict[str, float]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "shim_lsp.mcp", "--workspace", str(ws), "--state-dir", str(state)],
        env={**os.environ, "SHIM_REDIS_URL": redis_url} if redis_url else None,
    )
    started = time.perf_counter()
    async with stdio_client(params) as (r, w), ClientSession(r, w) as session:
        await session.initialize()
        await session.list_tools()
        start = time.perf_counter() - started
        # The chat's first checkpoint (all of Django) runs behind its first answers: wait for
        # it, as the LSP side waits for its own first one, so neither measures beside it.
        while True:
            answer = await session.call_tool("shim_session_status", {})
            assert answer.structured_content is not None
            if answer.structured_content["startCheckpoint"]["done"]:
                break
            await asyncio.sleep(0.1)

        async def status(_i: int) -> None:
            answer = await session.call_tool("shim_session_status", {})
            assert not answer.is_error and answer.structured_content is not None
            group = answer.structured_content["group"]["state"]
            assert group == ("connected" if redis_url else "off"), group

        if redis_url:
            return {"status": await p50(status, runs)}

        async def checkpoint(i: int) -> None:
            touch(ws, i)
            assert not (await session.call_tool("shim_force_checkpoint", {})).is_error

        async def memory(_i: int) -> None:
            assert not (await session.call_tool("shim_auto_checkpoint", {})).is_error

        async def dry_run(_i: int) -> None:
            done = await session.call_tool("shim_run_codemod", {"name": CODEMOD})
            assert not done.is_error and done.structured_content is not None
            assert "would change" in done.structured_content["summary"]

        return {
            "codemod": await p50(dry_run, CODEMOD_RUNS),
            "floor": await p50(memory, runs),
            "start": start,
            "status": await p50(status, runs),
            "checkpoint": await p50(checkpoint, max(3, runs // 3)),
        }


async def through_lsp(ws: Path, state: Path, runs: int) -> dict[str, float]:
    proc, start = await spawn(SHIM, ws, state)
    assert proc.stdin is not None
    stdin = proc.stdin

    def command(name: str) -> Callable[[int], Awaitable[object]]:
        async def step(i: int) -> None:
            if name == "shim.forceCheckpoint":
                touch(ws, i)
            n = 1000 + i + (500 if name == "shim.forceCheckpoint" else 0)
            stdin.write(
                frame(
                    {
                        "jsonrpc": "2.0",
                        "id": n,
                        "method": "workspace/executeCommand",
                        "params": {"command": name},
                    }
                )
            )
            assert "result" in await answer(proc, n)

        return step

    # The server's own first checkpoint of the tree (the chat takes one when it starts).
    await command("shim.forceCheckpoint")(-1)

    async def cli_dry_run(_i: int) -> None:
        shim = str(Path(sys.executable).with_name("shim"))
        done = await asyncio.to_thread(
            subprocess.run,
            [shim, "codemod", CODEMOD, "--diff", "."],
            cwd=ws,
            capture_output=True,
            check=True,
        )
        assert b"would change" in done.stderr

    result = {
        "codemod": await p50(cli_dry_run, CODEMOD_RUNS),
        "start": start,
        "status": await p50(command("shim.sessionStatus"), runs),
        "checkpoint": await p50(command("shim.forceCheckpoint"), max(3, runs // 3)),
    }
    await stop(proc)
    return result


async def with_group(ws: Path, state: Path, runs: int) -> float | None:
    """The MCP status with a Redis group configured (a loopback redis-server of its own), on
    the MCP side's copy and store (its first checkpoint is then quick)."""
    server = shutil.which("redis-server")
    if server is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(state)]
    redis = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        import redis as redis_py

        client = redis_py.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis_py.ConnectionError:
                time.sleep(0.05)
        url = f"redis://127.0.0.1:{port}/0"
        return (await through_mcp(ws, state, runs, redis_url=url))["status"]
    finally:
        redis.terminate()
        redis.wait(10)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    tree = django_tree()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "m").mkdir()
        (root / "l").mkdir()
        ws = fresh_copy(tree, root / "m")
        mcp = await through_mcp(ws, root / "m-state", args.runs)
        group = await with_group(ws, root / "m-state", args.runs)
        lsp = await through_lsp(fresh_copy(tree, root / "l"), root / "l-state", args.runs)
    print(
        f"floor: shim_auto_checkpoint report (from memory, no store read) p50"
        f" {mcp['floor'] * 1000:.1f} ms"
    )
    for key, name in [
        ("status", "session status round trip p50"),
        ("checkpoint", "force checkpoint, one file changed, p50"),
        ("start", "start-up to first answer (tools/list; LSP initialize)"),
        ("codemod", f"{CODEMOD} dry run over the tree p50 (MCP; CLI --diff)"),
    ]:
        other = "CLI" if key == "codemod" else "LSP"
        print(
            f"{name}: MCP {mcp[key] * 1000:.1f} ms, {other} {lsp[key] * 1000:.1f} ms,"
            f" {mcp[key] / lsp[key]:.2f}x"
        )

    if group is not None:
        print(
            f"session status p50 with the Redis group configured: {group * 1000:.1f} ms,"
            f" without {mcp['status'] * 1000:.1f} ms, {group / mcp['status']:.2f}x"
        )


if __name__ == "__main__":
    asyncio.run(main())
