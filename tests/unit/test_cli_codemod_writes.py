"""What `shim codemod` writes: never over a file that changed while it ran, never a link
replaced by a file, never half of a change that goes together; each file once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import shim_codemod

UNIT_TESTS = Path(__file__).parent
NEEDLE = "needle = 1\n"


def shim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``shim codemod`` in ``cwd``, where a .libcst.codemod.yaml may name bad_codemods."""
    return shim_codemod(*args, cwd=cwd, pythonpath=(UNIT_TESTS,))


def with_bad_codemods(folder: Path) -> Path:
    (folder / ".libcst.codemod.yaml").write_text("modules:\n  - bad_codemods\n")
    return folder


def test_a_file_saved_while_the_codemod_ran_keeps_the_users_edit(tmp_path: Path) -> None:
    with_bad_codemods(tmp_path)
    (tmp_path / "small.py").write_text(NEEDLE)
    (tmp_path / "trigger.py").write_text("needle = 'SAVE'\n")
    out = shim("bad_codemods.EditSibling", "small.py", "trigger.py", cwd=tmp_path)
    assert (tmp_path / "small.py").read_text() == NEEDLE + "saved_by_the_user = 1\n"
    assert (tmp_path / "trigger.py").read_text() == "# seen\nneedle = 'SAVE'\n"
    assert "skipped small.py: changed while the codemod ran; left as it is" in out.stderr
    assert "1 changed, 0 unchanged, 1 skipped, 0 failed" in out.stderr
    assert out.returncode == 0, out.stderr


def test_a_change_that_goes_together_writes_nothing_when_one_file_changed_meanwhile(
    tmp_path: Path,
) -> None:
    with_bad_codemods(tmp_path)
    (tmp_path / "small.py").write_text(NEEDLE)
    (tmp_path / "trigger.py").write_text("needle = 'SAVE'\n")
    out = shim("bad_codemods.EditSiblingTogether", ".", "--json", cwd=tmp_path)
    assert (tmp_path / "small.py").read_text() == NEEDLE + "saved_by_the_user = 1\n"
    assert (tmp_path / "trigger.py").read_text() == "needle = 'SAVE'\n"
    report = json.loads(out.stdout)
    reasons = {Path(f["path"]).name: (f["status"], f["reason"]) for f in report["files"]}
    assert reasons["small.py"] == ("skipped", "changed while the codemod ran; left as it is")
    assert reasons["trigger.py"] == (
        "skipped",
        "not written: this codemod's changes go together, and 1 file could not be written"
        " (small.py)",
    )
    assert report["summary"] == "0 changed, 0 unchanged, 2 skipped, 0 failed"
    assert report["written"] is False
    # the change asked for was not made: the exit status says so, and which file held it back
    assert out.returncode == 1
    assert "skipped small.py: changed while the codemod ran; left as it is" in out.stderr
    assert "nothing was written (2 of its changes): they go together, and a file" in out.stderr


def test_a_named_link_is_followed_to_its_target_and_stays_a_link(tmp_path: Path) -> None:
    with_bad_codemods(tmp_path)
    (tmp_path / "real.py").write_text(NEEDLE)
    (tmp_path / "alias.py").symlink_to("real.py")
    out = shim("bad_codemods.AddComment", "alias.py", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "alias.py").is_symlink()
    assert (tmp_path / "real.py").read_text() == "# seen\n" + NEEDLE
    assert "1 changed, 0 unchanged, 0 skipped, 0 failed" in out.stderr

    # The link and its target named together: one file, changed once.
    (tmp_path / "real.py").write_text(NEEDLE)
    out = shim("bad_codemods.AddComment", "alias.py", "real.py", ".", cwd=tmp_path)
    assert (tmp_path / "real.py").read_text() == "# seen\n" + NEEDLE
    assert "1 changed, 0 unchanged, 0 skipped, 0 failed" in out.stderr


def test_a_named_link_that_leads_outside_is_refused_with_its_reason(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    with_bad_codemods(project)
    outside = tmp_path / "elsewhere.py"
    outside.write_text(NEEDLE)
    (project / "alias.py").symlink_to(outside)
    out = shim("bad_codemods.AddComment", "alias.py", cwd=project)
    assert (project / "alias.py").is_symlink()
    assert outside.read_text() == NEEDLE
    assert (
        f"skipped alias.py: a link to {outside}, outside the project and the paths given;"
        " not followed"
    ) in out.stderr
    assert "0 changed, 0 unchanged, 1 skipped, 0 failed" in out.stderr


@pytest.mark.parametrize("named", ["outdir", "outdir/ext.py"])
def test_a_path_through_a_folder_link_that_leads_outside_is_refused(
    tmp_path: Path, named: str
) -> None:
    """A file reached through a link to a folder elsewhere is outside like a linked file."""
    project = tmp_path / "project"
    project.mkdir()
    with_bad_codemods(project)
    elsewhere = tmp_path / "out"
    elsewhere.mkdir()
    (elsewhere / "ext.py").write_text(NEEDLE)
    (project / "outdir").symlink_to(elsewhere)
    out = shim("bad_codemods.AddComment", named, cwd=project)
    assert (elsewhere / "ext.py").read_text() == NEEDLE, "nothing written outside the project"
    assert "outside the project and the paths given; not followed" in out.stderr
    assert "0 changed" in out.stderr


def test_a_folder_inside_the_project_is_judged_by_the_projects_rules(tmp_path: Path) -> None:
    """`shim codemod tests/` skips what `shim codemod .` skips: the project's .gitignore and
    an --exclude written from the project's root."""
    with_bad_codemods(tmp_path)
    (tmp_path / ".gitignore").write_text("legacy/\n")
    for rel in ("t/legacy/z.py", "t/old/y.py", "t/keep.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(NEEDLE)
    out = shim("bad_codemods.AddComment", "t", "--exclude", "t/old/", cwd=tmp_path)
    assert (tmp_path / "t/legacy/z.py").read_text() == NEEDLE, "gitignored at the root"
    assert (tmp_path / "t/old/y.py").read_text() == NEEDLE, "excluded from the root"
    assert (tmp_path / "t/keep.py").read_text() == "# seen\n" + NEEDLE
    assert "1 changed" in out.stderr


def test_overlapping_paths_count_each_file_once_and_a_named_pipe_is_never_opened(
    tmp_path: Path,
) -> None:
    with_bad_codemods(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text(NEEDLE)
    os.mkfifo(tmp_path / "sub" / "pipe.py")  # opening it would wait for a writer forever
    out = shim(
        "bad_codemods.AddComment", ".", "sub", "sub/b.py", "sub/pipe.py", "--json", cwd=tmp_path
    )
    report = json.loads(out.stdout)
    assert report["summary"] == "1 changed, 0 unchanged, 1 skipped, 0 failed"
    assert len(report["files"]) == 2
    skipped = next(f for f in report["files"] if f["status"] == "skipped")
    assert (skipped["path"], skipped["reason"]) == (
        "sub/pipe.py",
        "not a regular file (a named pipe); not read",
    )
    assert (tmp_path / "sub" / "b.py").read_text() == "# seen\n" + NEEDLE


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Paths made immutable (``chattr +i``: even root cannot write them), made mutable again
    at the end so that the temporary folder can go."""
    if shutil.which("chattr") is None:
        pytest.skip("needs chattr")
    made: list[Path] = []
    yield made
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def make_immutable(path: Path, made: list[Path]) -> None:
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not allowed here: {done.stderr!r}")
    made.append(path)


def test_a_rename_with_a_file_it_cannot_write_writes_nothing(
    tmp_path: Path, immutable: list[Path]
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text("class Thing: ...\n")
    (tmp_path / "a_user.py").write_text("from pkg.mod import Thing\nThing()\n")
    (tmp_path / "zz").mkdir()
    (tmp_path / "zz" / "user.py").write_text("from pkg.mod import Thing\nThing()\n")
    make_immutable(tmp_path / "zz", immutable)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.py")}
    out = shim(
        "rename_symbol", ".", "--arg", "old_name=pkg.mod.Thing", "--arg", "new_name=Widget",
        cwd=tmp_path,
    )  # fmt: skip
    assert "Traceback" not in out.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.py")} == before
    lines = out.stderr.splitlines()
    assert any(line.startswith("failed zz/user.py: cannot be written: ") for line in lines), (
        out.stderr
    )
    assert (
        "skipped a_user.py: not written: this codemod's changes go together, "
        "and 1 file could not be written (zz/user.py)"
    ) in lines
    assert "0 changed, 1 unchanged, 2 skipped, 1 failed" in out.stderr
    assert out.returncode == 1


def test_a_file_it_cannot_write_fails_alone_when_changes_do_not_go_together(
    tmp_path: Path, immutable: list[Path]
) -> None:
    with_bad_codemods(tmp_path)
    (tmp_path / "a.py").write_text(NEEDLE)
    (tmp_path / "b.py").write_text(NEEDLE)
    make_immutable(tmp_path / "b.py", immutable)
    out = shim("bad_codemods.AddComment", ".", cwd=tmp_path)
    assert "Traceback" not in out.stderr
    assert (tmp_path / "a.py").read_text() == "# seen\n" + NEEDLE
    assert (tmp_path / "b.py").read_text() == NEEDLE
    assert "failed b.py: is read-only: not written (make it writable to change it)" in out.stderr
    assert "1 changed, 0 unchanged, 0 skipped, 1 failed" in out.stderr
    assert out.returncode == 1


def test_a_read_only_file_is_not_written_even_by_root(tmp_path: Path) -> None:
    """chmod 444 is the user's word that a file stays as it is: a rename over it would succeed
    (the folder is writable, and root passes every permission check), so SHIM asks the mode."""
    with_bad_codemods(tmp_path)
    (tmp_path / "a.py").write_text(NEEDLE)
    (tmp_path / "b.py").write_text(NEEDLE)
    (tmp_path / "b.py").chmod(0o444)
    out = shim("bad_codemods.AddComment", ".", cwd=tmp_path)
    assert (tmp_path / "a.py").read_text() == "# seen\n" + NEEDLE
    assert (tmp_path / "b.py").read_text() == NEEDLE
    assert (tmp_path / "b.py").stat().st_mode & 0o777 == 0o444
    assert "failed b.py: is read-only: not written (make it writable to change it)" in out.stderr
    assert out.returncode == 1


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a file to another user")
def test_a_rewritten_file_keeps_its_owner_and_mode(tmp_path: Path) -> None:
    with_bad_codemods(tmp_path)
    target = tmp_path / "theirs.py"
    target.write_text(NEEDLE)
    os.chown(target, 1234, 1234)
    target.chmod(0o600)
    shim("bad_codemods.AddComment", "theirs.py", cwd=tmp_path)
    st = target.stat()
    assert target.read_text() == "# seen\n" + NEEDLE
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 1234, 0o600)


def test_a_rename_over_files_without_its_definition_writes_nothing(tmp_path: Path) -> None:
    # tests/ imports pkg.mod.Thing: renaming the importers and not the class would make
    # every test fail with an ImportError.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text("class Thing: ...\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_thing.py").write_text("from pkg.mod import Thing\nThing()\n")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.py")}
    out = shim(
        "rename_symbol", "tests", "--arg", "old_name=pkg.mod.Thing", "--arg", "new_name=Widget",
        cwd=tmp_path,
    )  # fmt: skip
    assert "Traceback" not in out.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.py")} == before
    lines = out.stderr.splitlines()
    assert (
        "failed pkg/mod.py: defines pkg.mod.Thing, which this rename changes with its"
        " importers, and is not among the files of this run: include it (nothing was changed)"
    ) in lines, out.stderr
    assert (
        "skipped tests/test_thing.py: not changed: this codemod's changes go together,"
        " and 1 file failed"
    ) in lines
    assert out.returncode == 1

    # the definition alone would leave the tests importing a name that no longer exists
    out = shim(
        "rename_symbol", "pkg", "--arg", "old_name=pkg.mod.Thing", "--arg", "new_name=Widget",
        cwd=tmp_path,
    )  # fmt: skip
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.py")} == before
    assert (
        "failed tests/test_thing.py: imports pkg.mod or a package above it and names Thing,"
        " so this rename may change it, and is not among the files of this run: include it"
        " (nothing was changed)"
    ) in out.stderr.splitlines(), out.stderr
    assert out.returncode == 1

    # with the definition in the run, the rename is made
    out = shim(
        "rename_symbol", "tests", "pkg", "--arg", "old_name=pkg.mod.Thing",
        "--arg", "new_name=Widget", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "pkg" / "mod.py").read_text() == "class Widget: ...\n"
    assert (tmp_path / "tests" / "test_thing.py").read_text() == (
        "from pkg.mod import Widget\nWidget()\n"
    )


def test_a_move_over_files_without_the_module_writes_nothing(tmp_path: Path) -> None:
    # the module moves with the importers given; importers left out of the run would break
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "utils.py").write_text("def slugify(s): return s\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_utils.py").write_text("from shop.utils import slugify\n")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.py")}
    out = shim(
        "move_module", "tests", "--arg", "old_module=shop.utils",
        "--arg", "new_module=shop.text", cwd=tmp_path,
    )  # fmt: skip
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.py")} == before
    assert (
        "failed shop/utils.py: is the module this move renames, and is not among the files of"
        " this run: include it (nothing was changed)"
    ) in out.stderr.splitlines(), out.stderr
    assert out.returncode == 1
