"""Ruff in its Landlock sandbox: nothing outside the workspace is read, SHIM itself is not
restricted, and a run the sandbox got in the way of is run again in the safe order."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from shim_lsp.analysis import sandbox
from shim_lsp.analysis.links import Found, LinkSearch
from shim_lsp.analysis.ruff import RuffOptions, find_ruff
from shim_lsp.analysis.tree import TreeFindings, TreeRun

needs_landlock = pytest.mark.skipif(not sandbox.available(), reason="no Landlock here")


def _ruff() -> str:
    ruff = find_ruff(None)
    assert isinstance(ruff, str)
    return ruff


def _workspace(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace whose settings extend a file outside it, with links leading out to a
    source file and to a pipe (opened, it would wait for a writer until ruff's timeout)."""
    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / "pkg").mkdir(parents=True)
    outside.mkdir()
    (outside / "base.toml").write_text('[lint]\nselect = ["F821"]  # outside-secret\n')
    (outside / "b.py").write_text("outside_secret = undefined_outside\n")
    os.mkfifo(outside / "pipe")
    (root / "pkg" / "a.py").write_text("import os\nx = y\n")
    (root / "out.py").symlink_to(outside / "b.py")
    (root / "pipe.py").symlink_to(outside / "pipe")
    (root / "ruff.toml").write_text('extend = "../outside/base.toml"\n')
    return root, outside


def _sandboxed(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [_ruff(), "check", "--output-format", "concise", "--no-cache", "--exit-zero", *args]
    proc = sandbox.popen(
        sandbox.available(),
        [*cmd, "--", str(root)],
        [root],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=root,
    )
    try:
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode())


@needs_landlock
def test_sandboxed_ruff_reads_nothing_outside_and_shim_still_does(tmp_path: Path) -> None:
    root, outside = _workspace(tmp_path)
    # Settings that extend a file outside: ruff cannot read it, so it says so and stops.
    done = _sandboxed(root)
    assert done.returncode == 2
    assert "base.toml" in done.stderr and "Permission denied" in done.stderr
    assert "outside-secret" not in done.stdout + done.stderr
    # Without them: the linked source and the pipe are refused at once (no hang), the rest
    # checked.
    (root / "ruff.toml").unlink()
    done = _sandboxed(root, "--select", "F")
    assert done.returncode == 0, done.stderr
    assert "Failed to lint out.py: Permission denied" in done.stderr
    assert "Failed to lint pipe.py: Permission denied" in done.stderr
    assert "undefined_outside" not in done.stdout
    assert "pkg/a.py:2:5: F821 Undefined name `y`" in done.stdout
    # Only the child was restricted: SHIM reads outside from this thread and from new ones.
    assert (outside / "b.py").read_text().startswith("outside_secret")
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.append((outside / "base.toml").read_text()))
    reader.start()
    reader.join()
    assert seen and "outside-secret" in seen[0]


def _codes(done: object) -> dict[str, list[str | None]]:
    assert isinstance(done, TreeFindings), done
    return {str(p): [f.code for f in items] for p, items in sorted(done.found.items())}


@needs_landlock
def test_a_run_the_sandbox_stopped_is_run_again_in_the_safe_order(tmp_path: Path) -> None:
    """Ruff needs a file the sandbox refuses (here the settings extended from outside, which
    the safe order lets ruff read, as before the sandbox): the same findings either way."""
    root, _outside = _workspace(tmp_path)
    started = TreeRun.start(_ruff(), [root], RuffOptions(), timeout=20)
    assert isinstance(started, TreeRun) and started.sandboxed
    done = started.finish()
    assert _codes(done) == {str(root / "pkg" / "a.py"): ["F821"]}
    assert isinstance(done, TreeFindings)
    assert done.outside == (root / "out.py", root / "pipe.py")


@needs_landlock
def test_sandboxed_ruff_honours_ignore_files_above_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ruff reads ignore files above the folder it checks (the repository's, git's global
    one named in the user's configuration) and skips one it cannot read without a word: the
    sandbox lets it read them, so both orders find the same."""
    repo, home = tmp_path / "repo", tmp_path / "home"
    root = repo / "ws"
    (repo / ".git").mkdir(parents=True)
    root.mkdir()
    home.mkdir()
    (repo / ".gitignore").write_text("ignored.py\n")
    (home / "global-ignore").write_text("global.py\n")
    (home / ".gitconfig").write_text(f"[core]\n\texcludesFile = {home / 'global-ignore'}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for name in ("a.py", "ignored.py", "global.py"):
        (root / name).write_text("import os\n")
    found = {}
    for order in ("sandboxed", "safe order"):
        if order == "safe order":
            monkeypatch.setenv(sandbox.DISABLE_ENV, "1")
        started = TreeRun.start(_ruff(), [root], RuffOptions(select=("F",)), timeout=20)
        assert isinstance(started, TreeRun)
        assert started.sandboxed == (order == "sandboxed")
        found[order] = _codes(started.finish())
    assert found["sandboxed"] == found["safe order"] == {str(root / "a.py"): ["F401"]}


def test_without_landlock_ruff_runs_after_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The switch turns the sandbox off; a sandbox that cannot be made (an old kernel, a
    ruleset refused) leaves the safe order, never an unsandboxed ruff beside the search."""
    root, _outside = _workspace(tmp_path)
    (root / "ruff.toml").unlink()
    monkeypatch.setenv(sandbox.DISABLE_ENV, "1")
    assert sandbox.available() == 0
    monkeypatch.delenv(sandbox.DISABLE_ENV)

    def refused(*_args: object, **_kwargs: object) -> subprocess.Popen[bytes]:
        raise OSError(95, "Landlock refused")

    monkeypatch.setattr(sandbox, "available", lambda: 7)
    monkeypatch.setattr(sandbox, "popen", refused)
    started = TreeRun.start(_ruff(), [root], RuffOptions(select=("F",)), timeout=20)
    assert isinstance(started, TreeRun) and not started.sandboxed
    assert started.outside == (root / "out.py", root / "pipe.py"), "searched before ruff"
    assert _codes(started.finish()) == {str(root / "pkg" / "a.py"): ["F401", "F821"]}


class _CountedSearch(LinkSearch):
    def __init__(self) -> None:
        super().__init__()
        self.searches = 0

    def found(self, roots: Sequence[Path]) -> Found:
        self.searches += 1
        return super().found(roots)


@needs_landlock
def test_shim_analyze_searches_for_links_only_when_ruff_was_refused_a_file(
    tmp_path: Path,
) -> None:
    """As ``shim analyze`` runs it (the links leading out never printed): sandboxed, the
    search is made only to tell which refusals were links leading out."""
    root, _outside = _workspace(tmp_path)
    (root / "ruff.toml").unlink()
    (root / "out.py").unlink()
    (root / "pipe.py").unlink()
    search = _CountedSearch()
    options = RuffOptions(select=("F",))
    started = TreeRun.start(
        _ruff(), [root], options, timeout=20, search=search, outside_wanted=False
    )
    assert isinstance(started, TreeRun) and started.sandboxed
    assert _codes(started.finish()) == {str(root / "pkg" / "a.py"): ["F401", "F821"]}
    assert search.searches == 0, "nothing refused: no search"
    (root / "out.py").symlink_to(tmp_path / "outside" / "b.py")
    started = TreeRun.start(
        _ruff(), [root], options, timeout=20, search=search, outside_wanted=False
    )
    assert isinstance(started, TreeRun) and started.sandboxed
    done = started.finish()
    assert _codes(done) == {str(root / "pkg" / "a.py"): ["F401", "F821"]}
    assert isinstance(done, TreeFindings) and done.outside == (root / "out.py",)
    assert search.searches == 1, "out.py refused: searched once, not run again"


@needs_landlock
def test_an_ignore_file_in_the_workspace_linked_outside_is_not_read_by_sandboxed_ruff(
    tmp_path: Path,
) -> None:
    """The workspace's own .gitignore, a link to a file outside: its patterns must not decide
    what is checked (they are outside content). The sandbox's rules for ruff's discovery are
    for the folders above; a rule on the link would have granted its target."""
    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / ".git").mkdir(parents=True)
    outside.mkdir()
    (outside / "gi").write_text("ignored.py\n")
    (root / ".gitignore").symlink_to(outside / "gi")
    for name in ("a.py", "ignored.py"):
        (root / name).write_text("import os\n")
    started = TreeRun.start(_ruff(), [root], RuffOptions(select=("F",)), timeout=20)
    assert isinstance(started, TreeRun) and started.sandboxed
    assert _codes(started.finish()) == {
        str(root / "a.py"): ["F401"],
        str(root / "ignored.py"): ["F401"],
    }
