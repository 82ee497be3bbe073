"""jscpd's JSON report read into duplicates, the detector found, and the files chosen."""

from __future__ import annotations

import json
import os
from pathlib import Path

from shim_lsp.analysis import duplicates as d
from shim_lsp.analysis.findings import Spot
from shim_lsp.settings import Settings


def report(
    first: str, second: str, a: tuple[int, int, int, int], b: tuple[int, int, int, int]
) -> str:
    """A report as `jscpd --reporters json` writes it (lines and columns 1-based)."""

    def side(name: str, at: tuple[int, int, int, int]) -> dict[str, object]:
        return {
            "name": name,
            "start": at[0],
            "end": at[2],
            "startLoc": {"line": at[0], "column": at[1], "position": 13},
            "endLoc": {"line": at[2], "column": at[3], "position": 107},
        }

    item = {
        "format": "python",
        "lines": a[2] - a[0] + 1,
        "fragment": "...",
        "tokens": 0,
        "firstFile": side(first, a),
        "secondFile": side(second, b),
    }
    return json.dumps({"statistics": {}, "duplicates": [item]})


def test_a_report_becomes_both_sides_zero_based() -> None:
    (dup,) = d.parse(report("b.py", "a.py", (5, 11, 13, 34), (3, 10, 11, 34)))
    assert dup.first == d.Side("b.py", Spot(4, 10), Spot(12, 33))
    assert dup.second == d.Side("a.py", Spot(2, 9), Spot(10, 33))
    assert dup.lines == 9


def test_columns_in_utf16_units_become_code_points_where_the_text_is_known() -> None:
    text = 'x = "\U0001f600é"; y = 1\n'  # the emoji is 2 UTF-16 units, 1 code point
    # "y" is at code point 10, UTF-16 unit 11: jscpd says column 12 (1-based).
    (dup,) = d.parse(report("a.py", "b.py", (1, 12, 1, 17), (1, 12, 1, 17)), {"a.py": text})
    assert dup.first.start == Spot(0, 10) and dup.first.end == Spot(0, 15)
    assert dup.second.start == Spot(0, 11)  # no text given: left as jscpd counts


def test_a_location_without_a_column_starts_its_line() -> None:
    raw = json.loads(report("a.py", "b.py", (2, 1, 8, 5), (3, 1, 9, 5)))
    del raw["duplicates"][0]["firstFile"]["startLoc"]["column"]
    (dup,) = d.parse(json.dumps(raw))
    assert dup.first.start == Spot(1, 0)


def test_node_missing_is_a_failure_naming_the_setting(tmp_path: Path) -> None:
    found = d.find_detector(str(tmp_path / "node"), None, {})
    assert isinstance(found, d.DuplicatesFailure) and "duplicatesNode" in found.message


def fake_jscpd(tmp_path: Path) -> Path:
    package = tmp_path / "lib" / "node_modules" / "jscpd"
    (package / "bin").mkdir(parents=True)
    (package / "package.json").write_text('{"name": "jscpd", "version": "4.3.0"}')
    (package / "bin" / "jscpd").write_text("#!/usr/bin/env node\n")
    (package / "bin" / "jscpd").chmod(0o755)
    return package


def test_jscpd_is_found_from_its_folder_or_its_linked_executable(tmp_path: Path) -> None:
    package = fake_jscpd(tmp_path)
    node = tmp_path / "node"
    node.write_text("#!/bin/sh\n")
    node.chmod(0o755)
    by_folder = d.find_detector(str(node), str(package), {})
    assert by_folder == d.Detector(str(node), str(d.RUNNER), str(package))
    (tmp_path / "bin").mkdir()
    os.symlink(package / "bin" / "jscpd", tmp_path / "bin" / "jscpd")
    by_link = d.find_detector(str(node), str(tmp_path / "bin" / "jscpd"), {})
    assert by_link == by_folder
    not_jscpd = d.find_detector(str(node), str(tmp_path), {})
    assert isinstance(not_jscpd, d.DuplicatesFailure) and "duplicatesJscpd" in not_jscpd.message


def test_the_editors_node_and_bundled_runner_come_after_the_settings(tmp_path: Path) -> None:
    runner = tmp_path / "jscpd-runner.js"
    runner.write_text("")
    env = {d.EDITOR_NODE_ENV: "/editor/node", d.EDITOR_RUNNER_ENV: str(runner)}
    assert d.find_detector(None, None, env) == d.Detector("/editor/node", str(runner))
    package = fake_jscpd(tmp_path)
    chosen = d.find_detector(None, str(package), env)
    assert chosen == d.Detector("/editor/node", str(d.RUNNER), str(package))


def test_files_are_the_python_files_the_rules_keep_and_links_are_not_followed(
    tmp_path: Path,
) -> None:
    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / "pkg").mkdir(parents=True)
    (root / "vendored").mkdir()
    outside.mkdir()
    for name in ("a.py", "pkg/b.pyi", "notes.txt", "my_secret.py", "vendored/c.py", "gen.py"):
        (root / name).write_text("x = 1\n")
    (root / ".gitignore").write_text("gen.py\n")
    (outside / "far.py").write_text("x = 1\n")
    os.symlink(outside / "far.py", root / "link.py")
    os.symlink(outside, root / "far")
    settings = Settings(secret_globs=["*_secret.py"], exclude_globs=["vendored/"])
    found = d.python_files([root, root / "pkg"], settings)
    assert [p.relative_to(root).as_posix() for p in found] == ["a.py", "pkg/b.pyi"]


def test_sources_are_buffers_where_open_and_never_outside_the_roots(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("on disk\n")
    (root / "b.py").write_bytes(b"caf\xc3\xa9\n")
    (tmp_path / "far.py").write_text("far\n")
    os.symlink(tmp_path / "far.py", root / "link.py")
    paths = [root / "a.py", root / "b.py", root / "link.py", root / "gone.py"]
    sources = d.read_sources(paths, [root], {str(root / "a.py"): "in the buffer\n"})
    assert sources == [
        d.Source(str(root / "a.py"), "in the buffer\n"),
        d.Source(str(root / "b.py"), "café\n"),
    ]
