"""Ruff over whole folders never waits on a FIFO (plain ``ruff check`` does), never reads an
ignore file linked out of the workspace, and never shows what it quotes of a settings file
outside: each repro of tryout issue 12, in both orders (sandboxed, and the safe order).

Ruff's timeout here is 10 s: a run that would hang ends as a timed-out failure, which fails
the test, and none of these tests takes more than a few seconds when it passes."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from shim_lsp.analysis import sandbox
from shim_lsp.analysis.ruff import RuffFailure, RuffOptions, find_ruff
from shim_lsp.analysis.tree import TreeFindings, TreeRun, check_file, check_tree

TIMEOUT = 10.0


@pytest.fixture(autouse=True, params=["sandboxed", "safe order"])
def order(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "sandboxed" and not sandbox.available():
        pytest.skip("no Landlock on this kernel")
    if request.param == "safe order":
        monkeypatch.setenv(sandbox.DISABLE_ENV, "1")
    return str(request.param)


def _ruff() -> str:
    ruff = find_ruff(None)
    assert isinstance(ruff, str)
    return ruff


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / "pkg").mkdir(parents=True)
    outside.mkdir()
    (root / "a.py").write_text("import os\n")
    (root / "pkg" / "b.py").write_text("import sys\n")
    return root, outside


def _run(
    root: Path, runner: str, timeout: float = TIMEOUT, select: tuple[str, ...] = ("F",)
) -> TreeFindings | RuffFailure:
    """The server's workspace run, or ``shim analyze``'s (ruff started first when sandboxed,
    the search only if needed), timed: a hang fails the test, not the suite."""
    options = RuffOptions(select=select)
    started = time.monotonic()
    if runner == "server":
        done = asyncio.run(check_tree(_ruff(), [root], options, timeout=timeout))
    else:
        run = TreeRun.start(_ruff(), [root], options, timeout=timeout, outside_wanted=False)
        done = run if isinstance(run, RuffFailure) else run.finish()
    took = time.monotonic() - started
    assert took < timeout / 2, f"took {took:.1f} s: ruff waited on something"
    return done


def _files(done: TreeFindings | RuffFailure) -> list[str]:
    assert isinstance(done, TreeFindings), done
    return sorted(p.name for p in done.found)


@pytest.mark.parametrize("runner", ["server", "cli"])
def test_a_fifo_named_like_python_is_left_out_said_and_the_rest_checked(
    tmp_path: Path, runner: str
) -> None:
    root, _outside = _tree(tmp_path)
    os.mkfifo(root / "pipe.py")
    (root / "pkg" / "to_pipe.py").symlink_to(root / "pipe.py")  # a link inside, to the FIFO
    done = _run(root, runner)
    assert _files(done) == ["a.py", "b.py"]
    assert isinstance(done, TreeFindings)
    assert f"left out: {root / 'pipe.py'} is not a regular file (a FIFO)" in done.notes
    assert f"left out: {root / 'pkg' / 'to_pipe.py'} is not a regular file (a FIFO)" in done.notes


@pytest.mark.parametrize("where", ["ws", "ws/pkg", "above"])
@pytest.mark.parametrize("runner", ["server", "cli"])
def test_an_ignore_file_that_is_a_fifo_turns_ignore_files_off_and_is_said(
    tmp_path: Path, runner: str, where: str
) -> None:
    """Ruff reads a folder's ignore files even when it excludes the folder, and those above
    the roots: it runs without them, and says so."""
    root, _outside = _tree(tmp_path)
    fifo = {"ws": root, "ws/pkg": root / "pkg", "above": tmp_path}[where] / ".gitignore"
    os.mkfifo(fifo)
    done = _run(root, runner)
    assert _files(done) == ["a.py", "b.py"]
    assert isinstance(done, TreeFindings)
    (said,) = done.notes
    assert said.startswith("ruff ran without ignore files"), said
    assert f"{fifo} is a FIFO, not a regular file, which ruff would wait on for ever" in said


@pytest.mark.parametrize("runner", ["server", "cli"])
def test_a_settings_file_that_is_a_fifo_is_left_out_below_the_root_and_stops_a_run_in_it(
    tmp_path: Path, runner: str
) -> None:
    """Below a root, ruff takes settings from regular files only; ruff checks a pyproject.toml
    itself (RUF200), so it is left out as a source file would be. In a root, ruff opens it."""
    root, _outside = _tree(tmp_path)
    os.mkfifo(root / "pkg" / "pyproject.toml")
    done = _run(root, runner, select=("F", "RUF200"))
    assert _files(done) == ["a.py", "b.py"]
    assert isinstance(done, TreeFindings)
    assert done.notes == (
        f"left out: {root / 'pkg' / 'pyproject.toml'} is not a regular file (a FIFO)",
    )
    # In the root itself (here a link to a FIFO inside): ruff must read it, so it is not run.
    os.mkfifo(root / "fifo")
    (root / "ruff.toml").symlink_to(root / "fifo")
    done = _run(root, runner)
    assert isinstance(done, RuffFailure), done
    assert done.message.startswith(f"{root / 'ruff.toml'} is a FIFO, not a regular file, and")
    assert "ruff was not run" in done.message


@pytest.mark.parametrize("target", ["outside", "inside"])
@pytest.mark.parametrize("runner", ["server", "cli"])
def test_settings_that_extend_a_fifo_stop_the_run_at_once(
    tmp_path: Path, runner: str, target: str
) -> None:
    """Sandboxed, the FIFO outside is refused, and the safe order's rerun would open it."""
    root, outside = _tree(tmp_path)
    fifo = (outside if target == "outside" else root) / "fifo"
    os.mkfifo(fifo)
    (root / "ruff.toml").write_text(f'extend = "{os.path.relpath(fifo, root)}"\n')
    done = _run(root, runner)
    assert isinstance(done, RuffFailure), done
    assert f"{root / 'ruff.toml'} extends {os.path.normpath(fifo)}, which is a FIFO" in done.message


@pytest.mark.parametrize("target", ["outside", "inside"])
@pytest.mark.parametrize("runner", ["server", "cli"])
def test_a_subfolders_settings_extending_a_fifo_stop_the_run_naming_both(
    tmp_path: Path, runner: str, target: str
) -> None:
    """A settings file below the root (tryout 12b, defect 1): the search finds it with the
    FIFOs, and its ``extend`` is followed before ruff (re)starts. Sandboxed, a FIFO outside
    is refused ruff by the kernel, and ruff names the settings file that extends it."""
    root, outside = _tree(tmp_path)
    fifo = (outside if target == "outside" else root / "f") / "fifo"
    fifo.parent.mkdir(exist_ok=True)
    os.mkfifo(fifo)
    (root / "pkg" / "ruff.toml").write_text(f'extend = "{os.path.relpath(fifo, root / "pkg")}"\n')
    done = _run(root, runner)
    assert isinstance(done, RuffFailure), done
    said = f"{root / 'pkg' / 'ruff.toml'} extends {fifo}, which is a FIFO, not a regular file"
    assert said in done.message
    assert "ruff was not run" in done.message


@pytest.mark.parametrize("runner", ["server", "cli"])
def test_a_chain_of_subfolder_settings_is_followed_inside_to_the_fifo(
    tmp_path: Path, runner: str
) -> None:
    """``pkg/pyproject.toml`` extends ``conf/base.toml`` (a regular file inside), which
    extends a FIFO: the second link of the chain is what would hold ruff."""
    root, _outside = _tree(tmp_path)
    (root / "conf").mkdir()
    os.mkfifo(root / "conf" / "fifo")
    (root / "conf" / "base.toml").write_text('extend = "fifo"\n')
    (root / "pkg" / "pyproject.toml").write_text('[tool.ruff]\nextend = "../conf/base.toml"\n')
    done = _run(root, runner)
    assert isinstance(done, RuffFailure), done
    assert f"extends {root / 'conf' / 'fifo'}, which is a FIFO" in done.message


def test_a_ruff_that_uses_no_cpu_is_stopped_long_before_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hard bound: whatever SHIM did not see, a ruff blocked on a file (here a stand-in
    that only sleeps) is killed once it used no CPU time for ``STALLED_S``, with one line."""
    from shim_lsp.analysis import tree

    monkeypatch.setattr(tree, "STALLED_S", 1.5)
    blocked = tmp_path / "ruff"
    blocked.write_text("#!/bin/sh\nexec sleep 60\n")
    blocked.chmod(0o755)
    root, _outside = _tree(tmp_path)
    started = time.monotonic()
    run = TreeRun.start(str(blocked), [root], RuffOptions(), timeout=60.0)
    assert isinstance(run, TreeRun), run
    done = run.finish()
    assert time.monotonic() - started < 8.0
    assert isinstance(done, RuffFailure), done
    assert "used no CPU time for 1.5 s" in done.message
    assert run.proc.returncode is not None  # killed, not left behind


@pytest.mark.parametrize("runner", ["server", "cli"])
def test_an_ignore_file_linked_outside_is_never_read(tmp_path: Path, runner: str) -> None:
    """Its patterns would decide what is checked: they are outside content. Sandboxed, the
    kernel refuses it; in the safe order ruff runs without ignore files and says so."""
    root, outside = _tree(tmp_path)
    (root / ".git").mkdir()
    (outside / "gi").write_text("ignored.py\n")
    (root / "ignored.py").write_text("import json\n")
    (root / "pkg" / ".gitignore").symlink_to(outside / "gi")
    (root / "pkg" / "ignored.py").write_text("import re\n")
    done = _run(root, runner)
    assert _files(done) == ["a.py", "b.py", "ignored.py", "ignored.py"]


@pytest.mark.parametrize("runner", ["server", "cli"])
def test_a_broken_toml_extended_from_outside_is_named_never_quoted(
    tmp_path: Path, runner: str
) -> None:
    root, outside = _tree(tmp_path)
    (outside / "base.toml").write_text('token = "outside-secret" [\n')
    (root / "ruff.toml").write_text('extend = "../outside/base.toml"\n')
    done = _run(root, runner)
    assert isinstance(done, RuffFailure), done
    assert "outside-secret" not in done.message + done.detail
    assert f"Failed to parse {outside / 'base.toml'}" in done.message
    assert "not shown: it is outside the workspace" in done.message
    # An unknown rule is quoted by name: cut too.
    (outside / "base.toml").write_text('[lint]\nselect = ["SECRETRULE1"]\n')
    done = _run(root, runner)
    assert isinstance(done, RuffFailure), done
    assert "SECRETRULE1" not in done.message + done.detail
    assert f"{outside / 'base.toml'} is invalid (what ruff quoted of it" in done.message
    # Inside the workspace, ruff's quote is the user's own text: kept.
    (root / "ruff.toml").write_text('token = "inside-text" [\n')
    done = _run(root, runner)
    assert isinstance(done, RuffFailure), done
    assert "inside-text" in done.detail, done  # the message keeps 300 characters


def test_a_recheck_of_files_stops_on_a_settings_fifo_over_them(tmp_path: Path) -> None:
    """The server's recheck of files named one by one: ruff reads the settings of each file's
    folders (a subfolder's pyproject.toml too, blocking, for a file on its standard input)."""
    root, _outside = _tree(tmp_path)
    os.mkfifo(root / "pkg" / "pyproject.toml")
    b = root / "pkg" / "b.py"
    options = RuffOptions(select=("F",))
    done = asyncio.run(check_file(_ruff(), [root], options, b, b.read_bytes(), timeout=TIMEOUT))
    assert isinstance(done, RuffFailure) and "is a FIFO, not a regular file" in done.message
    both = asyncio.run(check_tree(_ruff(), [root], options, [b, root / "a.py"], timeout=TIMEOUT))
    assert isinstance(both, RuffFailure) and "is a FIFO, not a regular file" in both.message
