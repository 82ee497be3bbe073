"""Analysis on the Django source release, each figure beside its anchor measured in this run.

    .venv/bin/python bench/analysis.py [--runs 3] [--edits 40]

1. ``shim analyze`` and ``shim.analyzeWorkspace`` against bare ``ruff check`` over the same
   tree with the same rules (E, F, W and C901 over 10): wall time and findings (target 1.2x).
   SHIM runs as installed, its bytecode cached (see ``installed_env``), ``shim analyze`` by
   the ``shim`` executable of an install laid out as a wheel's (``installed_shim``), and,
   for comparison, by this checkout's (``pip install -e``); one untimed run first. Beside
   them, the floor of any Python command wrapping ruff (``FLOOR``).
2. Re-analysis after one file changed on disk (``didChangeWatchedFiles`` to its
   ``publishDiagnostics``) against the full workspace run (target 0.05x).
3. ``didChange`` to ``publishDiagnostics`` in ``django/db/models/query.py``, p50 and p95,
   against ``ruff server`` fed the same edits (target p50 2.5x). SHIM runs with
   ``ruffDebounce`` 0, as ruff server has no debounce; the default 0.1 s adds that on purpose.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from common import django_tree, fresh_copy

from shim_lsp.analysis.ruff import find_ruff

RULES = ["E", "F", "W"]
THRESHOLD = 10
SETTINGS = {"ruffSelect": RULES, "complexityThreshold": THRESHOLD, "ruffDebounce": 0}
LARGE = Path("django/db/models/query.py")


class Client:
    """Just enough of an LSP client over stdio: requests, notifications seen, and server
    requests answered (settings for ``workspace/configuration``, null otherwise)."""

    def __init__(self, proc: asyncio.subprocess.Process, settings: dict[str, Any]) -> None:
        self.proc = proc
        self.settings = settings
        self.ids = itertools.count(1)
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.published: dict[str, list[tuple[float, int | None, int]]] = {}
        """uri -> (when, version, how many diagnostics) of each publishDiagnostics."""
        self.sources: dict[str, list[tuple[float, list[str]]]] = {}
        """uri -> (when, each diagnostic's source) of each publishDiagnostics."""
        self.changed = asyncio.Event()
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(
        cls, cmd: list[str], ws: Path, settings: dict[str, Any], init: Any = None
    ) -> Client:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=ws,
            env=installed_env(ws),
        )
        client = cls(proc, settings)
        caps = {"workspace": {"configuration": True}, "window": {"workDoneProgress": True}}
        await client.request(
            "initialize",
            {
                "processId": os.getpid(),
                "capabilities": caps,
                "workspaceFolders": [{"uri": ws.as_uri(), "name": "ws"}],
                "initializationOptions": init,
            },
        )
        client.notify("initialized", {})
        return client

    def _send(self, obj: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **obj}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def _read(self) -> None:
        reader = self.proc.stdout
        assert reader is not None
        while True:
            length = 0
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line == b"\r\n":
                    break
            msg = json.loads(await reader.readexactly(length))
            method = msg.get("method")
            if method is None:
                future = self.waiting.pop(msg["id"], None)
                if future is not None and not future.done():
                    future.set_result(msg)
            elif "id" in msg:
                self._send({"id": msg["id"], "result": self.answer(method, msg.get("params"))})
            elif method == "textDocument/publishDiagnostics":
                p = msg["params"]
                now = time.perf_counter()
                self.published.setdefault(p["uri"], []).append(
                    (now, p.get("version"), len(p["diagnostics"]))
                )
                self.sources.setdefault(p["uri"], []).append(
                    (now, [str(d.get("source")) for d in p["diagnostics"]])
                )
                self.changed.set()

    def answer(self, method: str, params: Any) -> Any:
        """The result of a request from the server: its settings, else null."""
        if method == "workspace/configuration":
            return [self.settings for _ in params["items"]]
        return None

    async def request(self, method: str, params: Any) -> Any:
        msg_id = next(self.ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[msg_id] = future
        self._send({"id": msg_id, "method": method, "params": params})
        return await future

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    async def published_for(
        self, uri: str, after: float, version: int | None = None, timeout: float = 60
    ) -> tuple[float, int]:
        """The first publication for ``uri`` (at ``version``, if given) after ``after``."""
        deadline = time.perf_counter() + timeout
        while True:
            for when, v, count in self.published.get(uri, []):
                if when > after and (version is None or v in (version, None)):
                    return when, count
            self.changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no diagnostics for {uri}")
            await asyncio.wait_for(self.changed.wait(), left)

    async def stop(self) -> None:
        await self.request("shutdown", None)
        self.notify("exit", None)
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.reader.cancel()


def ruff_binary() -> str:
    found = find_ruff(None)
    assert isinstance(found, str), found
    return found


def installed_env(ws: Path) -> dict[str, str]:
    """SHIM's processes as an installed SHIM runs: its modules' bytecode cached (pip compiles
    it on install), even where ``PYTHONDONTWRITEBYTECODE`` is set, as it is in some shells
    here; without it each ``shim analyze`` would compile SHIM's source again. Their state
    folder (where the link search keeps what it listed) is beside the tree, not the user's."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    state = str(ws.parent / "state")
    return {**env, "PYTHONPYCACHEPREFIX": str(ws.parent / "pycache"), "SHIM_STATE_DIR": state}


def shim_command() -> list[str]:
    """The ``shim`` executable installed beside this Python, as a user runs it (its entry
    point, ``shim_lsp.entry``, loads the CLI with the garbage collector off); else the
    module."""
    installed = Path(sys.executable).with_name("shim")
    return [str(installed)] if installed.is_file() else [sys.executable, "-m", "shim_lsp.cli"]


def installed_shim(tmp: Path) -> list[str]:
    """``shim`` as a ``pip install`` of SHIM's wheel lays it out: a virtualenv whose
    ``bin`` holds the ``shim`` script (what pip writes for the entry point) and ruff's
    binary, and whose packages are this checkout's SHIM and the dependencies of the
    environment running this. Not this checkout's ``pip install -e``: setuptools' editable
    finder, loaded by a path file at every Python start of that environment, takes ~10 ms
    of each ``shim`` run that no installed SHIM has (measured beside it, below)."""
    import sysconfig

    venv = tmp / "installed"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    checkout, packages = Path(__file__).resolve().parent.parent, sysconfig.get_path("purelib")
    (site / "shim.pth").write_text(f"{checkout}\n{packages}\n")
    (venv / "bin" / "ruff").symlink_to(ruff_binary())
    script = venv / "bin" / "shim"
    script.write_text(
        f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom shim_lsp.entry import main\n"
        "if __name__ == '__main__':\n    sys.exit(main())\n"
    )
    script.chmod(0o755)
    return [str(script)]


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    return time.perf_counter() - started, done.stdout


def bare_ruff() -> list[str]:
    """``ruff check`` with the same rules as SHIM's runs, over the current folder."""
    return [
        *(ruff_binary(), "check", "--output-format", "json", "--no-fix", "--exit-zero"),
        *("--no-cache", "--select", ",".join(RULES), "--extend-select", "C901"),
        *("--config", f"lint.mccabe.max-complexity={THRESHOLD}", "."),
    ]


FLOOR = (
    "import argparse, ctypes, pathlib, subprocess, sys, typing\n"
    "sys.stdout.buffer.write(subprocess.run(sys.argv[1:], capture_output=True).stdout)"
)
"""The least a Python command that runs ruff pays before and after it: the interpreter's
start and the standard modules ``shim analyze`` needs to start ruff (its arguments, paths,
the sandbox's system calls, the child process), then ruff's output passed on."""


class CliTimes(NamedTuple):
    """Median seconds of each way of running ruff over the tree, and their findings."""

    bare: float
    installed: float
    editable: float
    floor: float
    bare_findings: int
    shim_findings: int


def cli_side(ws: Path, runs: int, tmp: Path) -> CliTimes:
    """Bare ruff, an installed ``shim analyze``, this checkout's (``pip install -e``) and
    the installed environment's Python running bare ruff (``FLOOR``), interleaved."""
    bare = bare_ruff()
    words = ["analyze", "--json", "--select", ",".join(RULES)]
    words += ["--complexity-threshold", str(THRESHOLD), "."]
    script = installed_shim(tmp)
    installed, editable = [*script, *words], [*shim_command(), *words]
    floor = [str(Path(script[0]).parent / "python"), "-c", FLOOR, *bare]
    commands = {"bare": bare, "installed": installed, "editable": editable, "floor": floor}
    times: dict[str, list[float]] = {name: [] for name in commands}
    env = installed_env(ws)
    for shim in (installed, editable):
        timed(shim, ws, env)  # warm-up, untimed: the bytecode cache is filled
    out = {}
    for _ in range(runs):  # interleaved: all see the same machine
        for name, cmd in commands.items():
            t, out[name] = timed(cmd, ws, None if cmd is bare else env)
            times[name].append(t)
    found = {name: len(json.loads(text)) for name, text in out.items()}
    assert found["installed"] == found["editable"], found
    assert found["floor"] == found["bare"], found
    medians = {name: statistics.median(t) for name, t in times.items()}
    return CliTimes(
        medians["bare"],
        medians["installed"],
        medians["editable"],
        medians["floor"],
        found["bare"],
        found["installed"],
    )


async def workspace_side(ws: Path, runs: int) -> tuple[float, int, float, float]:
    """Median seconds of ``shim.analyzeWorkspace``, its findings, the median seconds from
    one changed file's event to its diagnostics, and the median seconds of bare ruff, run
    between the workspace runs (the machine's load changes within a minute)."""
    client = await Client.start([sys.executable, "-m", "shim_lsp"], ws, SETTINGS)
    times, findings, rechecks, bare = [], 0, [], []
    try:
        for _ in range(runs):
            bare.append(timed(bare_ruff(), ws)[0])
            started = time.perf_counter()
            answer = await client.request(
                "workspace/executeCommand", {"command": "shim.analyzeWorkspace", "arguments": []}
            )
            times.append(time.perf_counter() - started)
            findings = answer["result"]["findings"]
        target = ws / "django" / "utils" / "text.py"
        uri = target.as_uri()
        original = target.read_text()
        for i in range(runs * 3):
            target.write_text(original + f"\nunused_{i} = undefined_{i}\n")
            sent = time.perf_counter()
            client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri, "type": 2}]})
            when, _count = await client.published_for(uri, sent)
            rechecks.append(when - sent)
        target.write_text(original)
    finally:
        await client.stop()
    return statistics.median(times), findings, statistics.median(rechecks), statistics.median(bare)


RUFF_SERVER_INIT = {
    "settings": {
        "lint": {"select": [*RULES, "C901"]},
        "configuration": {"lint": {"mccabe": {"max-complexity": THRESHOLD}}},
    }
}
"""The same rules for ``ruff server`` (its initialization options)."""


async def latency(cmd: list[str], ws: Path, edits: int, init: Any = None) -> list[float]:
    """Seconds from each ``didChange`` (a line typed at the end of the file) to the
    ``publishDiagnostics`` for that version, one edit at a time."""
    client = await Client.start(cmd, ws, SETTINGS, init)
    path = ws / LARGE
    uri = path.as_uri()
    text = path.read_text()
    try:
        opened = time.perf_counter()
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
        )
        await client.published_for(uri, opened - 1, 1)
        line = text.count("\n")
        found = []
        for i in range(edits):
            sent = time.perf_counter()
            version = i + 2
            where = {"line": line + i, "character": 0}
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [
                        {"range": {"start": where, "end": where}, "text": f"x_{i} = {i}\n"}
                    ],
                },
            )
            when, _count = await client.published_for(uri, sent, version)
            found.append(when - sent)
    finally:
        await client.stop()
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--edits", type=int, default=40)
    args = parser.parse_args()
    tree = django_tree()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = fresh_copy(tree, Path(tmp))
        files = sum(1 for _ in ws.rglob("*.py"))
        print(f"workspace: {tree.name} ({files} Python files), rules {RULES} + C901>{THRESHOLD}")
        cli = cli_side(ws, args.runs, Path(tmp))
        bare, bare_n = cli.bare, cli.bare_findings
        rows.append(
            (
                "shim analyze (installed) vs ruff check",
                f"{cli.installed:.3f} s, {cli.shim_findings} findings",
                f"{bare:.3f} s, {bare_n} findings",
                f"{cli.installed / bare:.2f}x",
                "<= 1.2x",
            )
        )
        rows.append(
            (
                "shim analyze of this checkout (pip install -e) vs ruff check",
                f"{cli.editable:.3f} s",
                f"{bare:.3f} s",
                f"{cli.editable / bare:.2f}x",
                "(editable finder)",
            )
        )
        rows.append(
            (
                "Python running ruff, no SHIM (the floor: FLOOR) vs ruff check",
                f"{cli.floor:.3f} s",
                f"{bare:.3f} s",
                f"{cli.floor / bare:.2f}x",
                "-",
            )
        )
        full, ws_n, recheck, beside = asyncio.run(workspace_side(ws, args.runs))
        rows.append(
            (
                "shim.analyzeWorkspace vs ruff check (run between)",
                f"{full:.2f} s, {ws_n} findings",
                f"{beside:.2f} s, {bare_n} findings",
                f"{full / beside:.2f}x",
                "<= 1.2x",
            )
        )
        rows.append(
            (
                "one file changed on disk: event to its diagnostics",
                f"{recheck * 1000:.0f} ms",
                f"{full:.2f} s (full run)",
                f"{recheck / full:.3f}x",
                "<= 0.05x",
            )
        )
        ours = asyncio.run(latency([sys.executable, "-m", "shim_lsp"], ws, args.edits))
        theirs = asyncio.run(latency([ruff_binary(), "server"], ws, args.edits, RUFF_SERVER_INIT))
        rows.append(
            (
                f"didChange to publishDiagnostics, {LARGE.name}, p50 / p95",
                f"{pct(ours, 0.5) * 1000:.0f} / {pct(ours, 0.95) * 1000:.0f} ms",
                f"ruff server {pct(theirs, 0.5) * 1000:.0f} / {pct(theirs, 0.95) * 1000:.0f} ms",
                f"{pct(ours, 0.5) / pct(theirs, 0.5):.2f}x",
                "p50 <= 2.5x",
            )
        )
    print("\n| measure | SHIM | baseline | ratio | target |\n|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
