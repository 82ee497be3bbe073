"""Does a buffer's ruff check wait on the type check? ``didChange`` to ruff's
``publishDiagnostics`` while mypy's daemon starts, type checks on, against the same edits with
type checks off, over stdio, each round a fresh server in a fresh copy of a small project.

    .venv/bin/python bench/ruff_beside_typecheck.py [--rounds 5] [--edits 20]

Each round opens ``app.py`` (one unused import), waits for ruff's diagnostics of the open,
then sends ``--edits`` edits 50 ms apart, each adding an unused import, and times each edit
to the first publication holding that many ruff findings for that version. With type checks
on, the open starts mypy's daemon: the edits that land before mypy's first finding are
those made while it starts (counted apart). ``ruffDebounce`` is 0, so the figures are
ruff's own latency and SHIM's, not the pause it waits on purpose.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from analysis import Client

RUFF = "SHIM ruff"
MYPY = "SHIM mypy"
TEXT = 'import os\n\n\ndef f(x: int) -> str:\n    return x\n\n\nn: int = "x"\n'
"""One ruff finding (F401), two of mypy's (return-value, assignment)."""
PROJECT = {
    "pyproject.toml": '[tool.ruff.lint]\nselect = ["F"]\n[tool.mypy]\nstrict = true\n',
    "pkg/__init__.py": "",
    "pkg/models.py": "".join(
        f"class M{i}:\n    def value(self) -> int:\n        return {i}\n\n\n" for i in range(200)
    ),
}


def project(root: Path) -> Path:
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "app.py").write_text(TEXT)
    return root


async def ruff_published(client: Client, uri: str, after: float, version: int, count: int) -> float:
    """When ruff's ``count`` findings of ``version`` were first published after ``after``."""
    deadline = after + 60
    while True:
        pubs = zip(client.published.get(uri, []), client.sources.get(uri, []), strict=True)
        for (when, v, _n), (_w, sources) in pubs:
            if when > after and v == version and sources.count(RUFF) == count:
                return when
        client.changed.clear()
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError(f"ruff's {count} findings of version {version} never came")
        await asyncio.wait_for(client.changed.wait(), left)


def first_mypy(client: Client, uri: str) -> float | None:
    return next((w for w, s in client.sources.get(uri, []) if MYPY in s), None)


async def one_round(
    type_checks: bool, edits: int, at_once: bool, checker: str | None = None
) -> tuple[float, list[tuple[float, float]]]:
    """The open's latency (0 when ``at_once``: the edits start with the open, before ruff's
    server or mypy's daemon has started), and each edit's (sent at relative to mypy's first
    finding, latency)."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = project(Path(tmp) / "ws")
        settings: dict[str, object] = {"typeCheckEnabled": type_checks, "ruffDebounce": 0}
        if checker:
            settings["typeCheckerPath"] = checker
        client = await Client.start([sys.executable, "-m", "shim_lsp"], ws, settings)
        try:
            uri = (ws / "app.py").as_uri()
            item = {"uri": uri, "languageId": "python", "version": 1, "text": TEXT}
            opened = time.perf_counter()
            client.notify("textDocument/didOpen", {"textDocument": item})
            open_latency = 0.0
            if not at_once:
                open_latency = await ruff_published(client, uri, opened, 1, 1) - opened
            timed = []
            for i in range(edits):
                version = i + 2
                change = {
                    "range": {
                        "start": {"line": 0, "character": 0},
                        "end": {"line": 0, "character": 0},
                    },
                    "text": f"import m{i}\n",
                }
                sent = time.perf_counter()
                client.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": uri, "version": version},
                        "contentChanges": [change],
                    },
                )
                done = await ruff_published(client, uri, sent, version, version)
                timed.append((sent, done - sent))
                await asyncio.sleep(0.05)
            if type_checks and not checker:  # mypy's finding must come: the daemon started
                while first_mypy(client, uri) is None:
                    client.changed.clear()
                    await asyncio.wait_for(client.changed.wait(), 120)
                mypy_at = first_mypy(client, uri)
                assert mypy_at is not None
                timed = [(sent - mypy_at, lat) for sent, lat in timed]  # < 0: while it starts
            else:
                timed = [(-1.0, lat) for _sent, lat in timed]
            return open_latency, timed
        finally:
            await client.stop()


def ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"p50 {statistics.median(values) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, n={len(values)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument(
        "--at-once", action="store_true", help="edit from the open on, without waiting for it"
    )
    parser.add_argument(
        "--type-checker-path", help="a dmypy for the type checks (one missing: none starts)"
    )
    args = parser.parse_args()
    opens: dict[bool, list[float]] = {True: [], False: []}
    starting: list[float] = []
    after: list[float] = []
    off: list[float] = []
    for _ in range(args.rounds):  # interleaved: both see the same machine
        for on in (True, False):
            open_latency, timed = await one_round(
                on, args.edits, args.at_once, args.type_checker_path
            )
            opens[on].append(open_latency)
            if on:
                starting += [lat for rel, lat in timed if rel < 0]
                after += [lat for rel, lat in timed if rel >= 0]
            else:
                off += [lat for _rel, lat in timed]
    if not args.at_once:
        print(f"didOpen -> ruff, type checks on:  {ms(opens[True])}")
        print(f"didOpen -> ruff, type checks off: {ms(opens[False])}")
    print(f"didChange -> ruff, on, while mypy's daemon starts: {ms(starting)}")
    print(f"didChange -> ruff, on, after mypy's first finding:  {ms(after)}")
    print(f"didChange -> ruff, type checks off:                 {ms(off)}")
    if starting and off:
        ratio = statistics.median(starting) / statistics.median(off)
        print(f"ratio while starting / off (p50): {ratio:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
