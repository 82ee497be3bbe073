"""Codemods on the Django source release: correctness of every codemod, then speed.

    .venv/bin/python bench/codemods.py [--runs 3]

1. Every codemod in transforms/ runs (without writing) over all of Django: no crash, no
   output that does not parse. A file that fails must be one that does not parse itself.
2. The same codemod class, over the same tree, with 2 jobs: ``shim codemod`` against
   ``python -m libcst.tool codemod --jobs=2``, for a targeted rename (few files) and a broad
   transform (many files). Wall times, their ratio, and the changed files of both, which must
   be the same files.
"""

from __future__ import annotations

import argparse
import ast
import filecmp
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import django_tree, fresh_copy

from shim_lsp.codemods.files import python_files
from shim_lsp.codemods.registry import discover
from shim_lsp.codemods.runner import CodemodSpec, Job, run

CHECK_ARGS: dict[str, dict[str, str]] = {
    "rename_symbol": {"old_name": "django.utils.text.Truncator", "new_name": "TextTruncator"},
    "move_module": {"old_module": "django.utils.text", "new_module": "django.utils.texts"},
    "migrate_call": {
        "old_name": "django.utils.text.slugify",
        "new_name": "make_slug",
        "positional": "value,allow_unicode",
        "rename_keywords": "allow_unicode=unicode",
        "add_keywords": "strict=False",
    },
}
CASES = [
    (
        "targeted rename (few files)",
        "rename_symbol",
        "shim_transforms.rename_symbol.RenameSymbolCommand",
        CHECK_ARGS["rename_symbol"],
    ),
    (
        "broad transform (many files)",
        "unittest_to_assert",
        "shim_transforms.unittest_to_assert.UnittestToAssertCommand",
        {},
    ),
]


def check_all(tree: Path, only: list[str]) -> bool:
    """Every codemod over Django, nothing written: True when all went well."""
    codemods, problems = discover()
    if only:
        codemods = {k: v for k, v in codemods.items() if k in only}
    ok = not problems
    files = python_files([tree], [])
    print(f"correctness: every codemod over {len(files)} Django files (dry run)")
    for name, info in codemods.items():
        args = CHECK_ARGS.get(name, {})
        started = time.perf_counter()
        summary = run(
            CodemodSpec(info.module, info.cls, args), [Job(f) for f in files], workers=2, root=tree
        )
        bad = []
        for r in summary.results:
            if r.status != "failed":
                continue
            try:
                ast.parse(Path(r.path).read_bytes())
            except SyntaxError:
                continue  # the input itself is not Python (Django ships a few on purpose)
            bad.append(f"{r.path}: {r.reason}")
        seconds = time.perf_counter() - started
        verdict = "ok" if not bad else f"{len(bad)} BAD"
        print(f"  {name:<20} {summary.line():<48} {seconds:6.1f} s  {verdict}")
        for line in bad[:5]:
            print(f"      {line}")
        ok = ok and not bad
    return ok


def changed_files(original: Path, copy: Path) -> set[str]:
    changed = set()
    for path in python_files([copy], []):
        rel = path.relative_to(copy)
        if not filecmp.cmp(original / rel, path, shallow=False):
            changed.add(str(rel))
    return changed


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=False, capture_output=True)
    return time.perf_counter() - started


def compare(tree: Path, runs: int, cases: list[int]) -> list[tuple[str, float, float, int, int]]:
    rows = []
    for index, (title, name, dotted, args) in enumerate(CASES):
        if cases and index not in cases:
            continue
        shim_times, libcst_times = [], []
        shim_changed: set[str] = set()
        libcst_changed: set[str] = set()
        for i in range(runs):
            for who in ("shim", "libcst") if i % 2 == 0 else ("libcst", "shim"):
                with tempfile.TemporaryDirectory() as tmp:
                    copy = fresh_copy(tree, Path(tmp))
                    if who == "shim":
                        cmd = [
                            sys.executable,
                            "-m",
                            "shim_lsp.cli",
                            "codemod",
                            name,
                            ".",
                            "--jobs",
                            "2",
                            "--root",
                            ".",
                        ]
                        cmd += [f"--arg={k}={v}" for k, v in args.items()]
                        shim_times.append(timed(cmd, copy))
                        shim_changed = changed_files(tree, copy)
                    else:
                        cmd = [
                            sys.executable,
                            "-m",
                            "libcst.tool",
                            "codemod",
                            "--jobs=2",
                            "--no-format",
                            "--hide-generated-warnings",
                            "--hide-blacklisted-warnings",
                            "--hide-progress",
                            "-x",
                            dotted,
                        ]
                        cmd += [item for k, v in args.items() for item in (f"--{k}", v)]
                        cmd += ["."]
                        libcst_times.append(timed(cmd, copy))
                        libcst_changed = changed_files(tree, copy)
        s, lc = statistics.median(shim_times), statistics.median(libcst_times)
        print(
            f"  {title}: shim {s:.2f} s, libcst CLI {lc:.2f} s, ratio {s / lc:.2f}x; "
            f"changed files {len(shim_changed)} vs {len(libcst_changed)}"
            + ("" if shim_changed == libcst_changed else "  (DIFFERENT FILES)")
        )
        rows.append((title, s, lc, len(shim_changed), len(libcst_changed)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-check", action="store_true")
    parser.add_argument("--only", action="append", default=[], help="check only this codemod")
    parser.add_argument("--check-only", action="store_true", help="no speed comparison")
    parser.add_argument(
        "--case",
        type=int,
        action="append",
        default=[],
        help="time only this case (0: targeted rename, 1: broad transform)",
    )
    args = parser.parse_args()
    tree = django_tree()
    ok = args.skip_check or check_all(tree, args.only)
    if args.check_only:
        return 0 if ok else 1
    print(f"speed: the same codemod class, {tree.name}, 2 jobs, median of {args.runs} runs")
    rows = compare(tree, args.runs, args.case)
    print("\n| transform | shim codemod | libcst CLI | ratio | files changed (shim / libcst) |")
    print("|---|---|---|---|---|")
    for title, s, lc, a, b in rows:
        print(f"| {title} | {s:.2f} s | {lc:.2f} s | {s / lc:.2f}x | {a} / {b} |")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
