"""One ruff over a tree: links leading outside are never read, findings come by file."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from shim_lsp.analysis import links, sandbox
from shim_lsp.analysis.findings import Finding
from shim_lsp.analysis.links import Found, LinkSearch, links_outside
from shim_lsp.analysis.ruff import RuffFailure, RuffOptions, find_ruff
from shim_lsp.analysis.tree import (
    TreeFindings,
    TreeRun,
    check_file,
    check_tree,
    python_files,
    readable_python_files,
    skipped_note,
)
from shim_lsp.settings import Settings
from shim_lsp.workspace.scan import FileRules


@pytest.fixture(autouse=True, params=["sandboxed", "safe order"])
def order(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: with ruff in its Landlock sandbox beside the link search (where the
    kernel has Landlock), and in the safe order (the search first) that other systems get."""
    if request.param == "sandboxed" and not sandbox.available():
        pytest.skip("no Landlock on this kernel")
    if request.param == "safe order":
        monkeypatch.setenv(sandbox.DISABLE_ENV, "1")
    return str(request.param)


def _tree(tmp_path: Path) -> Path:
    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / "pkg").mkdir(parents=True)
    outside.mkdir()
    (root / "pkg" / "a.py").write_text("import os\n")
    (outside / "b.py").write_text("import sys\n")
    (root / "pkg" / "in.py").symlink_to(root / "pkg" / "a.py")
    time.sleep(0.05)
    (root / "out.py").symlink_to(outside / "b.py")
    (root / "outdir").symlink_to(outside)
    return root


def test_only_links_that_resolve_outside_are_found(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert links_outside([root]) == [root / "out.py", root / "outdir"]


def test_a_checker_is_given_only_the_python_files_shim_may_read(tmp_path: Path) -> None:
    """Not a link leading out, not a secret (by name, or by what a link leads to), not an
    excluded folder's; what an import could still reach is named, to be skipped."""
    root = _tree(tmp_path)
    (root / ".env").write_text("KEY=1\n")
    (root / "settings.py").symlink_to(root / ".env")
    (root / "id_rsa_old.py").write_text("KEY = 1\n")
    (root / ".venv").mkdir()
    (root / ".venv" / "site.py").write_text("")
    found = readable_python_files(FileRules.from_settings(root, Settings()))
    assert found.files == (root / "pkg" / "a.py",)
    assert found.refused == tuple(
        root / n for n in ("id_rsa_old.py", "out.py", "outdir", "settings.py")
    )


def test_named_files_outside_the_roots_or_not_python_are_left_out(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "notes.txt").write_text("x\n")
    given = [root / "pkg" / "a.py", root / "out.py", root / "notes.txt", root / "gone.py"]
    assert python_files(given, [root]) == [root / "pkg" / "a.py"]


@pytest.mark.parametrize("runner", ["server", "cli"])
def test_the_tree_run_never_reads_or_reports_what_is_outside(
    tmp_path: Path, runner: str, order: str
) -> None:
    """A link leading out is never read: this one leads to a pipe, which ruff would wait on
    until its timeout. The server's run and the CLI's (ruff started, then waited for) alike."""
    root = _tree(tmp_path)
    os.mkfifo(tmp_path / "outside" / "pipe")
    (root / "pipe.py").symlink_to(tmp_path / "outside" / "pipe")
    ruff = find_ruff(None)
    assert isinstance(ruff, str)
    options = RuffOptions(select=("F",))
    if runner == "server":
        done = asyncio.run(check_tree(ruff, [root], options, timeout=10))
    else:
        started = TreeRun.start(ruff, [root], options, timeout=10, outside_wanted=False)
        assert isinstance(started, TreeRun)
        assert started.sandboxed == (order == "sandboxed")
        done = started.finish()
    assert isinstance(done, TreeFindings), done
    assert done.outside == (root / "out.py", root / "outdir", root / "pipe.py")
    assert sorted(done.found) == [root / "pkg" / "a.py", root / "pkg" / "in.py"]
    assert [f.code for f in done.found[root / "pkg" / "a.py"]] == ["F401"]


def _run(ruff: str, root: Path, runner: str, files: list[Path]) -> TreeFindings | RuffFailure:
    options = RuffOptions(select=("F",))
    if runner == "server":
        return asyncio.run(check_tree(ruff, [root], options, timeout=10))
    if runner == "files":
        return asyncio.run(check_tree(ruff, [root], options, files, timeout=10))
    if runner == "file":  # each file alone, its bytes on ruff's standard input (a recheck)
        found: dict[Path, list[Finding]] = {}
        skipped: list[Path] = []
        for file in files:
            done = asyncio.run(check_file(ruff, [root], options, file, file.read_bytes()))
            if isinstance(done, RuffFailure):
                return done
            found.update(done.found)
            skipped += done.skipped
        return TreeFindings(found, (), tuple(sorted(set(skipped))))
    started = TreeRun.start(ruff, [root], options, timeout=10, outside_wanted=False)
    return started if isinstance(started, RuffFailure) else started.finish()


@pytest.mark.parametrize("runner", ["server", "cli", "files", "file"])
def test_ruff_is_not_run_over_settings_that_are_a_link_leading_out(
    tmp_path: Path, runner: str
) -> None:
    """Ruff reads each folder's pyproject.toml as it enters it, and quotes it in its errors:
    a link leading out there would hand an outside file's text to the user. In a workspace
    folder itself, ruff is not run at all."""
    root = _tree(tmp_path)
    secret = tmp_path / "outside" / "secret.toml"
    secret.write_text('token = "outside-secret"\n[')
    (root / "pyproject.toml").symlink_to(secret)
    ruff = find_ruff(None)
    assert isinstance(ruff, str)
    done = _run(ruff, root, runner, [root / "pkg" / "a.py"])
    if runner in ("files", "file"):
        assert done == TreeFindings({}, (), (root / "pyproject.toml",))
        return
    assert isinstance(done, RuffFailure), done
    assert "pyproject.toml is a link leading outside the workspace" in done.message
    assert "outside-secret" not in done.message + done.detail


@pytest.mark.parametrize("runner", ["server", "cli", "files", "file"])
def test_a_folder_whose_settings_are_a_link_leading_out_is_left_out_and_the_rest_checked(
    tmp_path: Path, runner: str
) -> None:
    """Excluded, the folder is not entered, so its settings are never read: ruff would fail
    on this one (an unknown rule) if it read it. The rest of the tree is checked."""
    root = _tree(tmp_path)
    secret = tmp_path / "outside" / "secret.toml"
    secret.write_text('[lint]\nselect = ["NOPE1"]  # outside-secret\n')
    (root / "pkg" / "deeper").mkdir()
    (root / "pkg" / "deeper" / "c.py").write_text("import re\n")
    (root / "pkg" / "ruff.toml").symlink_to(secret)
    (root / "top.py").write_text("import json\n")
    ruff = find_ruff(None)
    assert isinstance(ruff, str)
    done = _run(ruff, root, runner, [root / "pkg" / "deeper" / "c.py", root / "top.py"])
    assert isinstance(done, TreeFindings), done
    assert sorted(done.found) == [root / "top.py"]
    assert done.skipped == (root / "pkg" / "ruff.toml",)
    assert skipped_note(done.skipped[0]).startswith(f"{root / 'pkg'} was not analysed: its")
    # Ruff reads the settings of the folder it runs in, excluded or not: from there, no run.
    options, inside = RuffOptions(select=("F",)), root / "pkg"
    refused: TreeFindings | RuffFailure
    if runner == "cli":
        started = TreeRun.start(ruff, [root], options, cwd=inside, timeout=10, outside_wanted=False)
        refused = started if isinstance(started, RuffFailure) else started.finish()
    elif runner == "file":
        top = root / "top.py"
        refused = asyncio.run(check_file(ruff, [root], options, top, b"", cwd=inside))
    else:
        refused = asyncio.run(check_tree(ruff, [root], options, cwd=inside, timeout=10))
    assert isinstance(refused, RuffFailure), refused
    assert "outside-secret" not in refused.message + refused.detail


def _settled_tree(tmp_path: Path) -> Path:
    """The tree, older than a clock tick: a search keeps its folders (none is racy)."""
    root = _tree(tmp_path)
    (root / "pkg" / "sub").mkdir()
    time.sleep(0.05)
    return root


def test_a_kept_search_stats_folders_and_still_finds_a_link_added_since(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a search listed is kept in the state folder (private) and trusted only while
    each folder's stat holds: a link added, or a folder turned into a link leading out, is
    found by the next search, even one by another process."""
    root, state = _settled_tree(tmp_path), tmp_path / "state"
    first = LinkSearch(state)
    assert first.outside([root]) == [root / "out.py", root / "outdir"]
    first.save()
    (kept,) = (state / "links").iterdir()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    listed: list[str] = []
    real_list = links._list

    def listing(
        path: str, below: bool
    ) -> tuple[os.stat_result, list[str], list[str], list[str], list[str]] | None:
        listed.append(path)
        return real_list(path, below)

    monkeypatch.setattr(links, "_list", listing)
    assert LinkSearch(state).outside([root]) == [root / "out.py", root / "outdir"]
    assert listed == [], "nothing changed: no folder listed again"
    (root / "pkg" / "sub" / "late.py").symlink_to(tmp_path / "outside" / "b.py")
    again = LinkSearch(state)
    assert again.outside([root]) == [
        root / "out.py",
        root / "outdir",
        root / "pkg" / "sub" / "late.py",
    ]
    assert listed == [str(root / "pkg" / "sub")], "only the folder that changed"
    # A folder replaced by a link leading out: its parent changed; the link inside that led
    # to it (inside before) leads out now too, and is resolved again.
    (root / "pkg" / "in2.py").symlink_to(root / "pkg" / "sub" / "x.py")
    time.sleep(0.05)
    again.outside([root])
    shutil.rmtree(root / "pkg" / "sub")
    (root / "pkg" / "sub").symlink_to(tmp_path / "outside")
    assert again.outside([root]) == [
        root / "out.py",
        root / "outdir",
        root / "pkg" / "in2.py",
        root / "pkg" / "sub",
    ]


def test_a_state_folder_given_late_is_asked_for_only_when_the_search_is_kept(
    tmp_path: Path,
) -> None:
    """``shim analyze`` names its state folder by what finds it (platformdirs: loaded while
    ruff works, not before): asked for once, when a search is kept, and used as a folder."""
    root, state = _settled_tree(tmp_path), tmp_path / "state"
    asked: list[Path] = []

    def state_dir() -> Path:
        asked.append(state)
        return state

    search = LinkSearch(state_dir)
    assert asked == [], "not asked for before a search needs it"
    assert search.outside([root]) == [root / "out.py", root / "outdir"]
    search.save()
    search.save()
    assert asked == [state]
    (kept,) = (state / "links").iterdir()
    assert LinkSearch(state).outside([root]) == [root / "out.py", root / "outdir"]
    assert kept.exists()


def test_a_folder_changed_within_a_tick_of_the_search_is_listed_again(tmp_path: Path) -> None:
    """git's racy case: a change in the same clock tick as the search may leave the folder's
    stat as it was, so such a folder is not kept."""
    root = _tree(tmp_path)
    # Searched in the very tick the first of the folders changed (the other changed after,
    # however long the machine took between the two), so neither folder's stat is settled.
    first = min(os.stat(p).st_ctime_ns for p in (root, root / "pkg"))
    search = LinkSearch(tmp_path / "state", clock=lambda: first)
    search.outside([root])
    search.save()
    assert search._kept[os.path.realpath(root)] == {}
    assert not (tmp_path / "state" / "links").exists(), "nothing to keep"
    time.sleep(0.05)
    search = LinkSearch(tmp_path / "state")
    search.outside([root])
    assert set(search._kept[os.path.realpath(root)]) == {"", "pkg"}


@pytest.mark.parametrize(
    "damage", [b"", b"{not json", b'{"version": 1}', b"[1, 2]", b"\xff\xfe", "entries"]
)
def test_a_damaged_kept_search_is_ignored_and_written_again(
    tmp_path: Path, damage: bytes | str
) -> None:
    root, state = _settled_tree(tmp_path), tmp_path / "state"
    first = LinkSearch(state)
    first.outside([root])
    first.save()
    (kept,) = (state / "links").iterdir()
    if damage == "entries":  # sound JSON, entries that are not
        body = json.loads(kept.read_text())
        body["folders"] = {rel: [1, "x"] for rel in body["folders"]} | {"": 7}
        kept.write_text(json.dumps(body))
    else:
        assert isinstance(damage, bytes)
        kept.write_bytes(damage)
    search = LinkSearch(state)
    assert search.outside([root]) == [root / "out.py", root / "outdir"]
    search.save()
    assert set(json.loads(kept.read_text())["folders"]) == {"", "pkg", "pkg/sub"}


class _SlowSearch(LinkSearch):
    """A search that takes its time (a large tree on a slow disk)."""

    def found(self, roots: Sequence[Path]) -> Found:
        time.sleep(0.3)
        return super().found(roots)


def test_a_workspace_run_cancelled_while_it_starts_leaves_no_ruff_running(tmp_path: Path) -> None:
    """Cancelled during the link search (off the event loop), the ruff started after it is
    killed all the same."""
    root = _tree(tmp_path)
    pid_file = tmp_path / "ruff.pid"
    slow = tmp_path / "ruff-slow"
    slow.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 30\n")
    slow.chmod(0o755)

    async def cancelled_run() -> None:
        run = asyncio.ensure_future(
            check_tree(str(slow), [root], RuffOptions(), timeout=60, search=_SlowSearch())
        )
        await asyncio.sleep(0.1)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        await asyncio.sleep(0.5)  # the start ends in its thread meanwhile

    asyncio.run(cancelled_run())
    # Killed at once, the shell may never have written its pid; left running, it has.
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        said = pid_file.read_text().strip() if pid_file.exists() else ""
        if said:
            try:
                os.kill(int(said), 0)
            except ProcessLookupError:
                return
            if time.monotonic() > deadline - 0.1:
                os.kill(int(said), 9)
                pytest.fail("ruff was left running")
        time.sleep(0.05)


def test_ruff_takes_the_glob_of_a_name_not_in_utf8_and_it_matches_only_what_alike_names(
    tmp_path: Path,
) -> None:
    """Ruff refuses an argument that is not UTF-8; its globs match raw bytes. ``ruff_glob``
    gives each such byte as any byte that is not ASCII: it leaves out the file, never
    ``oa.py`` nor ``o.py``, and ``alike`` names exactly the other names it matches now."""
    from shim_lsp.analysis.holds import alike, ruff_glob

    ruff = find_ruff(None)
    assert isinstance(ruff, str)
    root = os.fsencode(tmp_path)
    names = [b"o\xff.py", b"o\xfe.py", b"oa.py", b"o.py", b"o\xc3\xa9.py", b"o\xff\xfe.py"]
    for name in names:
        with open(os.path.join(root, name), "wb") as file:
            file.write(b"import os\n")

    def checked(*excluded: str) -> set[bytes]:
        args = [a for e in excluded for a in ("--extend-exclude", ruff_glob(e))]
        done = subprocess.run(
            [
                ruff,
                "check",
                "--no-cache",
                "--output-format",
                "json",
                "--select",
                "F401",
                *args,
                ".",
            ],
            cwd=tmp_path,
            capture_output=True,
        )
        assert done.returncode in (0, 1), done.stderr
        return {os.path.basename(f["filename"]).encode() for f in json.loads(done.stdout)}

    one = os.fsdecode(os.path.join(root, b"o\xff.py"))
    two = os.fsdecode(os.path.join(root, b"o\xff\xfe.py"))
    assert alike(one) == [os.fsdecode(os.path.join(root, b"o\xfe.py"))]
    assert alike(two) == [os.fsdecode(os.path.join(root, b"o\xc3\xa9.py"))]
    assert alike(str(tmp_path / "oa.py")) == []
    # Ruff spells a byte that is not UTF-8 as U+FFFD: the names it still checks.
    assert checked(one) == {b"oa.py", b"o.py", "oé.py".encode(), "o\ufffd\ufffd.py".encode()}
    assert checked(two) == {b"oa.py", b"o.py", "o\ufffd.py".encode()}
