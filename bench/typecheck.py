"""Type checks on Django's ``django/utils/``, each figure beside its anchor measured in this run.

    .venv/bin/python bench/typecheck.py [--runs 3]

``django/utils/text.py`` gets a line with a type error, then every ``django/utils/*.py`` is
opened in SHIM with ``typeCheckEnabled`` (one check of them all): the first check is timed from
the first ``didOpen`` to that error's diagnostic, against ``mypy`` run once over the same files
with the same options (target 1.2x). Then the line is taken out and the file saved: ``didSave``
to the diagnostics without it, against ``dmypy check`` of the same files on a warm daemon after
the same change (target: within 0.3 s of it).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis import Client
from common import django_tree, fresh_copy

from shim_lsp.analysis import mypy_daemon

SETTINGS = {"typeCheckEnabled": True, "ruffEnabled": False, "complexityEnabled": False}
MYPY = "SHIM mypy"
SAVED = Path("django/utils/text.py")
ERROR = 'type_error_for_the_benchmark: int = "x"\n'


def dmypy() -> str:
    found = mypy_daemon.find_dmypy(None)
    assert isinstance(found, str), found
    return found


def files_of(ws: Path) -> list[Path]:
    return sorted((ws / "django" / "utils").glob("*.py"))


def flags() -> list[str]:
    return [*mypy_daemon.FLAGS, mypy_daemon.CLASSIC_PARSER]


def mypy_once(ws: Path, files: list[Path]) -> float:
    """``mypy`` over the files, no cache: what the daemon's first check does."""
    mypy = str(Path(dmypy()).with_name("mypy"))
    started = time.perf_counter()
    subprocess.run([mypy, *flags(), *map(str, files)], cwd=ws, capture_output=True, check=False)
    return time.perf_counter() - started


def dmypy_recheck(ws: Path, files: list[Path], original: str) -> float:
    """``dmypy check`` on a warm daemon after the same change as SHIM's save."""
    with tempfile.TemporaryDirectory() as tmp:
        status = str(Path(tmp) / "dmypy.json")
        base = [dmypy(), "--status-file", status]
        subprocess.run([*base, "start", "--", *flags()], cwd=ws, capture_output=True, check=True)
        try:
            check = [*base, "check", "--", *map(str, files)]
            subprocess.run(check, cwd=ws, capture_output=True, check=False)
            (ws / SAVED).write_text(original)
            started = time.perf_counter()
            subprocess.run(check, cwd=ws, capture_output=True, check=False)
            return time.perf_counter() - started
        finally:
            subprocess.run([*base, "stop"], cwd=ws, capture_output=True, check=False)


async def mypy_published(client: Client, uri: str, after: float, found: bool) -> float:
    """When the diagnostics of ``uri`` first held (or no longer held) a mypy finding."""
    while True:
        for when, sources in client.sources.get(uri, []):
            if when > after and (MYPY in sources) == found:
                return when
        client.changed.clear()
        await asyncio.wait_for(client.changed.wait(), 900)


async def shim_side(ws: Path, files: list[Path], original: str) -> tuple[float, float]:
    """SHIM's first check of the open files, and its re-check after one save."""
    client = await Client.start([sys.executable, "-m", "shim_lsp"], ws, SETTINGS, SETTINGS)
    uri = (ws / SAVED).as_uri()
    try:
        opened = time.perf_counter()
        for path in files:
            client.notify(
                "textDocument/didOpen",
                {
                    "textDocument": {
                        "uri": path.as_uri(),
                        "languageId": "python",
                        "version": 1,
                        "text": path.read_text(),
                    }
                },
            )
        first = await mypy_published(client, uri, opened, found=True) - opened
        (ws / SAVED).write_text(original)
        sent = time.perf_counter()
        client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        return first, await mypy_published(client, uri, sent, found=False) - sent
    finally:
        await client.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tree = django_tree()
    firsts, rechecks, cold, warm = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        ws = fresh_copy(tree, Path(tmp))
        files = files_of(ws)
        print(f"workspace: {tree.name}, {len(files)} files of django/utils/ open")
        original = (ws / SAVED).read_text()
        for _ in range(args.runs):
            (ws / SAVED).write_text(original + ERROR)
            first, recheck = asyncio.run(shim_side(ws, files, original))
            firsts.append(first)
            rechecks.append(recheck)
            (ws / SAVED).write_text(original + ERROR)
            cold.append(mypy_once(ws, files))
            warm.append(dmypy_recheck(ws, files, original))
    f, c = statistics.median(firsts), statistics.median(cold)
    r, w = statistics.median(rechecks), statistics.median(warm)
    print(f"(medians of {args.runs} runs)")
    print("\n| measure | SHIM | baseline | ratio | target |\n|---|---|---|---|---|")
    print(
        f"| first check, open to diagnostics | {f:.2f} s | mypy {c:.2f} s | {f / c:.2f}x"
        " | <= 1.2x |"
    )
    print(
        f"| re-check after one save, didSave to diagnostics | {r * 1000:.0f} ms |"
        f" dmypy check {w * 1000:.0f} ms | {r / w:.2f}x | within 0.3 s |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
