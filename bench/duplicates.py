"""Duplicate code on the Django source release: SHIM's run beside jscpd's own CLI.

    .venv/bin/python bench/duplicates.py [--whole] [--min-lines 6]

Both run the same jscpd (editor-client/node_modules, from ``npm ci``) with the same options
(mild mode, 50 tokens, ``--min-lines``) over the same copy of the tree, outside this
repository so that no .gitignore of ours applies: SHIM as the server runs it (its file walk,
its reads, the runner fed on stdin, the report parsed), jscpd as ``jscpd --reporters json``.
jscpd's CLI leaves out files over 1,000 lines or 100 kB by default; it runs twice: with its
defaults, and with those limits lifted so that it sees SHIM's files. Times are wall times;
findings are duplicated pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import django_tree, fresh_copy

from shim_lsp.analysis import duplicates
from shim_lsp.settings import Settings

JSCPD = Path(__file__).resolve().parent.parent / "editor-client" / "node_modules" / "jscpd"


def shim_run(folder: Path, detector: duplicates.Detector, min_lines: int) -> tuple[float, int, int]:
    """(seconds, files, duplicates) of SHIM's whole run: walk, read, detect, parse."""
    started = time.perf_counter()
    paths = duplicates.python_files([folder], Settings())
    sources = duplicates.read_sources(paths, [folder], {})
    read = time.perf_counter() - started
    found = asyncio.run(duplicates.detect(detector, sources, min_lines))
    seconds = time.perf_counter() - started
    if isinstance(found, duplicates.DuplicatesFailure):
        raise SystemExit(f"SHIM's run failed: {found.message}\n{found.detail}")
    print(f"  (SHIM's walk and reads: {read:.2f} s)")
    return seconds, len(sources), len(found)


def bare_run(folder: Path, node: str, min_lines: int, lifted: bool) -> tuple[float, int]:
    """(seconds, duplicates) of `jscpd --reporters json` over ``folder``."""
    with tempfile.TemporaryDirectory(prefix="jscpd-report-") as out:
        limits = ["--max-lines", "10000000", "--max-size", "1gb"] if lifted else []
        command = [
            *(node, str(JSCPD / "bin" / "jscpd"), "--no-gitignore", "--silent"),
            *("--min-lines", str(min_lines), "--min-tokens", str(duplicates.MIN_TOKENS)),
            *("--format", "python", "--reporters", "json", "--output", out, *limits),
            str(folder),
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        report = (Path(out) / "jscpd-report.json").read_text()
    return seconds, len(duplicates.parse(report))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--whole", action="store_true", help="the whole sdist, not django/")
    parser.add_argument("--min-lines", type=int, default=6)
    a = parser.parse_args()
    node = shutil.which("node")
    if node is None or not JSCPD.is_dir():
        print("needs node, and jscpd in editor-client/node_modules (npm ci)", file=sys.stderr)
        return 2
    detector = duplicates.find_detector(node, str(JSCPD))
    assert isinstance(detector, duplicates.Detector), detector
    with tempfile.TemporaryDirectory(prefix="shim-bench-dup-") as tmp:
        ws = fresh_copy(django_tree(), Path(tmp))
        folder = ws if a.whole else ws / "django"
        tree = "the whole sdist" if a.whole else "django/"
        print(f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {tree}")
        shim_s, files, shim_n = shim_run(folder, detector, a.min_lines)
        print(f"SHIM (walk, read, jscpd runner): {shim_s:6.1f} s  {files} files  {shim_n} pairs")
        bare_s, bare_n = bare_run(folder, node, a.min_lines, lifted=True)
        print(f"jscpd CLI, same files:           {bare_s:6.1f} s  {bare_n} pairs")
        default_s, default_n = bare_run(folder, node, a.min_lines, lifted=False)
        print(f"jscpd CLI, its default limits:   {default_s:6.1f} s  {default_n} pairs")
        print(f"ratio SHIM / jscpd CLI (same files): {shim_s / bare_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
