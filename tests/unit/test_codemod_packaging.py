"""SHIM's ready codemods install inside its own name, and a user's ``transforms/`` folder
cannot hide them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EIGHT = {
    "rename_symbol",
    "move_module",
    "migrate_call",
    "unittest_to_assert",
    "print_to_logging",
    "to_fstring",
    "modernize_typing",
    "utcnow_to_aware",
}


def test_the_wheel_ships_shim_transforms_and_no_top_level_transforms(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if build.returncode != 0:
        pytest.fail(build.stderr)
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"shim_lsp", "shim_transforms"}
    assert {f"shim_transforms/{name}.py" for name in EIGHT} <= set(names)


def test_a_users_own_transforms_folder_does_not_hide_shims_codemods(tmp_path: Path) -> None:
    (tmp_path / "transforms").mkdir()
    (tmp_path / "transforms" / "__init__.py").write_text("raise ImportError('the user one')\n")
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "shim"), "codemod", "--list", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    import json

    assert {c["name"] for c in json.loads(listed.stdout)} == EIGHT
