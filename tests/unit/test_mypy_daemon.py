"""Mypy's JSON lines into SHIM's findings, and the files of daemons that died with a killed
SHIM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
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


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet waited for by init, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
async def test_a_checker_that_never_serves_leaves_no_process_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``--type-checker-path`` script that hangs (``sleep``) is stopped whole on time out:
    the script and what it started, never a grandchild left to init."""
    pids = tmp_path / "pids"
    hung = tmp_path / "hangdmypy"
    hung.write_text(f"#!/bin/sh\nsleep 1000 &\necho $$ $! > {pids}\nwait\n")
    hung.chmod(0o755)
    monkeypatch.setattr(mypy_daemon, "START_TIMEOUT_S", 0.5)
    daemon = mypy_daemon.Daemon(str(hung), tmp_path)
    found: list[int] = []
    try:
        failed = await daemon.check([tmp_path / "a.py"])
        assert isinstance(failed, mypy_daemon.MypyFailure)
        assert "did not start within 0.5 s" in failed.message
        found = [int(p) for p in pids.read_text().split()]
        await daemon.stopped()
        deadline = time.monotonic() + 5
        while any(map(_alive, found)) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert [p for p in found if _alive(p)] == []
    finally:
        for pid in found:  # only the pids this test started, if the fix failed
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
