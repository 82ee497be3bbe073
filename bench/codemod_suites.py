"""The standing check: each behaviour-preserving codemod on real projects, judged by their
own test suites.

    .venv/bin/python bench/codemod_suites.py [--project NAME] [--codemod NAME]

For every project (source releases from PyPI, downloaded with pip into ``bench/.cache``) the
project's test suite runs once on a fresh copy; then, for every codemod, on another fresh
copy that the codemod rewrote (``move_module`` also moves the file, as ``git mv`` would).
A codemod that keeps behaviour leaves the counts of passed, failed, skipped and erroring
tests as they were; and it must also have done its work: no file failed (a time limit hit is
a failure), and exactly the number of files changed that the case expects. A row that misses
any of these is marked, and the check exits 1.

The projects: ``cachetools`` (a ``src/`` layout, unittest-style tests, ``.pyi`` stubs),
``more-itertools`` (a package that re-exports its modules with ``from .more import *``,
unittest-style tests, stubs), and ``tabulate`` for ``to_fstring`` (the other two have no
``%`` or ``.format()`` that can be converted exactly). Each needs nothing but pytest.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from common import sdist_tree

from shim_lsp.codemods.files import python_files
from shim_lsp.codemods.registry import discover
from shim_lsp.codemods.runner import CodemodSpec, Job, Summary, run
from shim_lsp.workspace.files import write_atomic

SUITE_TIMEOUT_S = 900


@dataclass(frozen=True)
class Case:
    codemod: str
    args: dict[str, str] = field(default_factory=dict)
    moves: tuple[tuple[str, str], ...] = ()
    """Files the change moves (old, new), relative to the project."""
    changed: int = 0
    """How many files the codemod changes in this project (the README's table)."""


@dataclass(frozen=True)
class Project:
    name: str
    requirement: str
    import_root: str
    """The folder Python imports the package from: put on PYTHONPATH for the tests."""
    tests: str
    cases: tuple[Case, ...]


PROJECTS = (
    Project(
        "cachetools",
        "cachetools==8.0.2",
        "src",
        "tests",
        (
            Case("unittest_to_assert", changed=11),
            Case("to_fstring", changed=0),
            Case("modernize_typing", changed=0),
            Case("modernize_typing", {"add_future_import": "true"}, changed=6),
            Case(
                "rename_symbol",
                {"old_name": "cachetools.LRUCache", "new_name": "LeastRecentlyUsedCache"},
                changed=6,
            ),
            Case(
                "migrate_call", {"old_name": "cachetools.cached", "positional": "cache"}, changed=2
            ),
            Case(
                "move_module",
                {"old_module": "cachetools.keys", "new_module": "cachetools.cache_keys"},
                (
                    ("src/cachetools/keys.py", "src/cachetools/cache_keys.py"),
                    ("src/cachetools/keys.pyi", "src/cachetools/cache_keys.pyi"),
                ),
                # func.py and tests/test_cachedmethod.py import keys beside other names:
                # split since 2026-12-02 (they were left with a warning)
                changed=5,
            ),
        ),
    ),
    Project(
        "tabulate",
        "tabulate==0.10.0",
        ".",
        "test",
        (
            Case("unittest_to_assert", changed=0),
            Case("to_fstring", changed=1),
            Case("modernize_typing", changed=0),
        ),
    ),
    Project(
        "more-itertools",
        "more-itertools==11.2.1",
        ".",
        "tests",
        (
            Case("unittest_to_assert", changed=2),
            Case("to_fstring", changed=0),
            Case("modernize_typing", changed=0),
            Case("modernize_typing", {"add_future_import": "true"}, changed=2),
            Case(
                "rename_symbol",
                {"old_name": "more_itertools.more.chunked", "new_name": "chunk_list"},
                changed=3,
            ),
            Case(
                "migrate_call",
                {"old_name": "more_itertools.chunked", "positional": "iterable,n"},
                changed=1,
            ),
            Case(
                "move_module",
                {"old_module": "more_itertools.recipes", "new_module": "more_itertools.recipe"},
                (
                    ("more_itertools/recipes.py", "more_itertools/recipe.py"),
                    ("more_itertools/recipes.pyi", "more_itertools/recipe.pyi"),
                ),
                changed=4,
            ),
        ),
    ),
)


@dataclass(frozen=True)
class Counts:
    passed: int
    failed: int
    errors: int
    skipped: int

    def __str__(self) -> str:
        return (
            f"{self.passed} passed, {self.failed} failed, "
            f"{self.errors} errors, {self.skipped} skipped"
        )


def source_tree(project: Project) -> Path:
    """The unpacked sdist, downloaded once with pip."""
    return sdist_tree(project.requirement)


def verdict(case: Case, before: Counts, after: Counts, summary: Summary) -> list[str]:
    """What is wrong with a codemod's row; nothing when it kept the test counts, failed no
    file and changed as many files as expected (a file it gave up on keeps the tests
    passing too, so counts alone would hide it)."""
    problems = []
    if after != before:
        problems.append(f"tests: {before} before, {after} after")
    failed = summary.count("failed")
    if failed:
        problems.append(f"{failed} {'file' if failed == 1 else 'files'} failed")
    changed = summary.count("changed")
    if changed != case.changed:
        problems.append(f"changed {changed} files, expected {case.changed}")
    return problems


def test_suite(project: Project, tree: Path) -> Counts:
    """The project's own tests, with pytest, on the copy in ``tree``."""
    report = tree / ".suite.xml"
    env = {"PYTHONPATH": str(tree / project.import_root), "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            f"--junitxml={report}",
            project.tests,
        ],
        cwd=tree,
        env={**os.environ, **env},
        capture_output=True,
        timeout=SUITE_TIMEOUT_S,
        check=False,
    )
    if not report.exists():
        return Counts(0, 0, 1, 0)  # pytest could not even start: counted as one error
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {
        k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")
    }
    passed = total["tests"] - total["failures"] - total["errors"] - total["skipped"]
    return Counts(passed, total["failures"], total["errors"], total["skipped"])


def apply(project: Project, case: Case, tree: Path) -> Summary:
    """Move what the case moves, then run the codemod over the whole project and write."""
    for old, new in case.moves:
        (tree / old).rename(tree / new)
    info = discover()[0][case.codemod]
    files = python_files([tree], [])
    summary = run(
        CodemodSpec(info.module, info.cls, dict(case.args)),
        [Job(f) for f in files],
        workers=2,
        root=tree,
    )
    for result in summary.results:
        if result.status == "changed" and result.new is not None:
            write_atomic(Path(result.path), result.new)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", action="append", default=[], help="only these projects")
    parser.add_argument("--codemod", action="append", default=[], help="only these codemods")
    args = parser.parse_args()
    rows: list[str] = []
    all_right = True
    for project in PROJECTS:
        if args.project and project.name not in args.project:
            continue
        tree = source_tree(project)
        with tempfile.TemporaryDirectory() as tmp:
            base_copy = Path(tmp) / "base"
            shutil.copytree(tree, base_copy)
            started = time.perf_counter()
            before = test_suite(project, base_copy)
            print(f"{project.name}: {before} ({time.perf_counter() - started:.1f} s)", flush=True)
            for case in project.cases:
                if args.codemod and case.codemod not in args.codemod:
                    continue
                work = Path(tmp) / case.codemod
                shutil.copytree(tree, work)
                summary = apply(project, case, work)
                after = test_suite(project, work)
                problems = verdict(case, before, after, summary)
                all_right &= not problems
                failed = [f"{r.path}: {r.reason}" for r in summary.results if r.status == "failed"]
                print(
                    f"  {case.codemod}: {summary.line()}; tests: {after}; "
                    f"{'right' if not problems else 'WRONG: ' + '; '.join(problems)}",
                    flush=True,
                )
                for line in failed:
                    print(f"    failed {line}", flush=True)
                rows.append(
                    f"| {project.name} | {case.codemod} | {summary.count('changed')} "
                    f"(expected {case.changed}) | {before} | {after} | "
                    f"{'yes' if not problems else '**no**: ' + '; '.join(problems)} |"
                )
                shutil.rmtree(work)
    print()
    print("| project | codemod | files changed | tests before | tests after | right |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0 if all_right else 1


if __name__ == "__main__":
    raise SystemExit(main())
