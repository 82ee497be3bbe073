"""`shim recover` writes only inside the workspace (in place) or the output folder, whatever
links a cloned repository or a later change put in the way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness import crash_after_typing


def shim(state_dir: Path, workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", *args, "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=workspace,
    )


def files_under(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


async def test_a_symlinked_recovered_folder_is_refused(
    tmp_path: Path, workspace: Path, state_dir: Path
) -> None:
    await crash_after_typing(workspace, state_dir, "a.py", "typed = 1\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, workspace / ".shim-recovered")
    out = shim(state_dir, workspace, "recover")
    assert out.returncode == 2 and "symbolic link" in out.stderr
    assert files_under(outside) == {}
    assert shim(state_dir, workspace, "status").stdout.count("shim recover") == 1


async def test_a_symlinked_folder_inside_the_output_folder_is_refused(
    tmp_path: Path, workspace: Path, state_dir: Path
) -> None:
    await crash_after_typing(workspace, state_dir, "a.py", "typed = 1\n")
    session = shim(state_dir, workspace, "sessions", "--json").stdout.split('"id": "')[1][:12]
    outside = tmp_path / "outside"
    outside.mkdir()
    (workspace / ".shim-recovered").mkdir()
    os.symlink(outside, workspace / ".shim-recovered" / session)
    out = shim(state_dir, workspace, "recover")
    assert out.returncode == 1 and "outside" in out.stdout
    assert files_under(outside) == {}


async def test_in_place_through_a_parent_replaced_by_a_link_is_refused(
    tmp_path: Path, workspace: Path, state_dir: Path
) -> None:
    (workspace / "pkg").mkdir()
    await crash_after_typing(workspace, state_dir, "pkg/a.py", "typed = 1\n")
    outside = tmp_path / "outside"
    shutil.move(workspace / "pkg", outside)
    os.symlink(outside, workspace / "pkg")
    before = files_under(outside)
    out = shim(state_dir, workspace, "recover", "--in-place", "--force")
    assert out.returncode == 1 and "outside the workspace" in out.stdout
    assert files_under(outside) == before
