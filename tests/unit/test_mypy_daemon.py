"""Mypy's JSON lines into SHIM's findings, and the files of daemons that died with a killed
SHIM."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from shim_lsp.analysis import mypy_daemon
from shim_lsp.analysis.findings import Spot


def line(**item: object) -> str:
    base = {"file": "/w/a.py", "line": 1, "column": 0, "end_line": 1, "end_column": 1}
    return json.dumps({**base, "hint": None, "code": "misc", "severity": "error", **item})


def test_byte_columns_become_code_points_after_tabs_and_wide_characters() -> None:
    text = '\tx = "\u00e9\U0001f600"; y: int = "a"\n'
    # "a" is at byte 24 (tab 1, é 2, emoji 4) and at code point 20.
    out = "\n".join(
        [
            line(line=1, column=24, end_line=1, end_column=27, code="assignment", message="m"),
            "Daemon said something that is not a finding",
        ]
    )
    (finding,) = mypy_daemon.findings_in(text, mypy_daemon.parse(out))
    assert (finding.start, finding.end) == (Spot(0, 20), Spot(0, 23))
    assert finding.url == "https://mypy.rtfd.io/en/stable/_refs.html#code-assignment"
    assert finding.severity == "error"


def test_hints_join_the_message_and_notes_are_information() -> None:
    out = "\n".join(
        [
            line(message="Cannot find module", hint="See the docs", code="import-not-found"),
            line(message='Revealed type is "int"', severity="note", line=9, column=3),
        ]
    )
    missing, note = mypy_daemon.findings_in("import nosuch\n", mypy_daemon.parse(out))
    assert missing.message == "Cannot find module\nSee the docs"
    assert note.severity == "information"
    assert note.start == Spot(8, 0)  # past the end of the text: its end


def test_output_that_is_not_json_is_a_failure_to_read() -> None:
    with pytest.raises(ValueError):
        mypy_daemon.parse("{not json")


def test_sweep_removes_the_files_of_daemons_that_are_gone_and_keeps_the_others() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folders = []
    for pid in (dead.pid, 1):
        folder = Path(tempfile.mkdtemp(prefix=mypy_daemon.DIR_PREFIX))
        (folder / "dmypy.json").write_text(json.dumps({"pid": pid, "connection_name": "x"}))
        folders.append(folder)
    try:
        mypy_daemon.sweep()
        assert [f.exists() for f in folders] == [False, True]
    finally:
        for folder in folders:
            (folder / "dmypy.json").unlink(missing_ok=True)
            if folder.exists():
                folder.rmdir()
