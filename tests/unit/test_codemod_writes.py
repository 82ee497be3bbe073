"""Writing a run's results: a go-together change that fails midway is put back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shim_lsp.codemods.runner import FileResult, Summary
from shim_lsp.codemods.writes import write_changed


def changed(path: Path, new: bytes) -> FileResult:
    return FileResult(str(path), "changed", new=new, old=path.read_bytes())


def test_a_write_that_fails_midway_puts_back_the_files_already_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [tmp_path / name for name in ("a.py", "b.py", "c.py")]
    for path in files:
        path.write_bytes(b"old = 1\n")
    summary = Summary([changed(path, b"new = 1\n") for path in files])
    real_replace = os.replace

    def replace(src: str, dst: str | Path) -> None:
        if Path(dst).name == "b.py" and str(src).endswith(".shim-tmp"):
            raise OSError(30, "Read-only file system")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    write_changed(summary, together=True)
    monkeypatch.undo()
    assert [p.read_bytes() for p in files] == [b"old = 1\n"] * 3
    by_name = {Path(r.path).name: (r.status, r.reason) for r in summary.results}
    assert by_name == {
        "a.py": (
            "skipped",
            "written, then put back as it was: this codemod's changes go together, "
            f"and 1 file could not be written ({tmp_path / 'b.py'})",
        ),
        "b.py": ("failed", "cannot be written: Read-only file system"),
        "c.py": (
            "skipped",
            "not written: this codemod's changes go together, and 1 file could not be written"
            f" ({tmp_path / 'b.py'})",
        ),
    }
    assert not list(tmp_path.glob("*.shim-tmp"))


def test_without_going_together_the_other_files_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [tmp_path / name for name in ("a.py", "b.py")]
    for path in files:
        path.write_bytes(b"old = 1\n")
    summary = Summary([changed(path, b"new = 1\n") for path in files])
    real_replace = os.replace

    def replace(src: str, dst: str | Path) -> None:
        if Path(dst).name == "a.py":
            raise OSError(30, "Read-only file system")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    write_changed(summary, together=False)
    monkeypatch.undo()
    assert [p.read_bytes() for p in files] == [b"old = 1\n", b"new = 1\n"]
    assert summary.line() == "1 changed, 0 unchanged, 0 skipped, 1 failed"
    assert not list(tmp_path.glob("*.shim-tmp"))


def test_a_file_removed_or_changed_while_the_codemod_ran_is_left_alone(tmp_path: Path) -> None:
    gone, edited, fine = (tmp_path / name for name in ("gone.py", "edited.py", "fine.py"))
    for path in (gone, edited, fine):
        path.write_bytes(b"old = 1\n")
    summary = Summary([changed(path, b"new = 1\n") for path in (gone, edited, fine)])
    gone.unlink()
    edited.write_bytes(b"old = 1\nmine = 2\n")
    write_changed(summary, together=False)
    assert not gone.exists()
    assert edited.read_bytes() == b"old = 1\nmine = 2\n"
    assert fine.read_bytes() == b"new = 1\n"
    assert [(r.status, r.reason) for r in summary.results] == [
        ("skipped", "removed while the codemod ran; not written"),
        ("skipped", "changed while the codemod ran; left as it is"),
        ("changed", ""),
    ]


def test_a_file_with_another_hard_link_is_not_written(tmp_path: Path) -> None:
    # a staged file renamed over one name would leave the other name with the old text
    path = tmp_path / "a.py"
    path.write_bytes(b"old = 1\n")
    other = tmp_path / "also_a.py"
    os.link(path, other)
    summary = Summary([changed(path, b"new = 1\n")])
    write_changed(summary, together=True)
    assert path.read_bytes() == other.read_bytes() == b"old = 1\n"
    (result,) = summary.results
    assert result.status == "failed"
    assert result.reason.startswith("has 2 hard links; writing it would change this name only")
    assert not list(tmp_path.glob("*.shim-tmp"))
