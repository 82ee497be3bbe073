"""`shim codemod` names modules by the files, not by the folder it runs in: run from the
folder above the project, from `tests/`, or with `--root` anywhere in the project, a rename
changes every file it must or none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import shim_codemod


def shim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return shim_codemod(*args, cwd=cwd)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def runs(script: str, cwd: Path, pythonpath: str = "") -> str:
    """What the project prints: it still imports what it did."""
    env = {**os.environ, "PYTHONPATH": pythonpath}
    done = subprocess.run(
        [sys.executable, script], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


RENAME = ("--arg", "old_name=pkg.mod.A", "--arg", "new_name=B")
FLAT = {
    "proj/pkg/__init__.py": "from .mod import A\n",
    "proj/pkg/mod.py": "class A:\n    pass\n",
    "proj/main.py": "from pkg import A\nprint(A.__name__)\n",
}
SRC = {
    "proj/src/pkg/__init__.py": "from .mod import A\n",
    "proj/src/pkg/mod.py": "class A:\n    pass\n",
    "proj/tests/test_a.py": "from pkg import A\nprint(A.__name__)\n",
}


def test_a_rename_run_from_the_folder_above_the_project_renames_its_importers(
    tmp_path: Path,
) -> None:
    write(tmp_path, FLAT)
    out = shim("rename_symbol", "proj", *RENAME, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "3 changed" in out.stderr
    assert runs("main.py", tmp_path / "proj") == "B\n"


@pytest.mark.parametrize(
    ("cwd", "paths"),
    [(".", ["proj"]), ("proj", [".", "--root", "tests"]), ("proj/tests", ["..", "--root", "."])],
    ids=["from-the-parent", "root-below-the-package", "from-tests"],
)
def test_a_rename_in_a_src_layout_renames_every_importer_wherever_it_runs(
    tmp_path: Path, cwd: str, paths: list[str]
) -> None:
    write(tmp_path, SRC)
    out = shim("rename_symbol", *paths, *RENAME, cwd=tmp_path / cwd)
    assert out.returncode == 0, out.stderr
    assert "3 changed" in out.stderr
    assert runs("tests/test_a.py", tmp_path / "proj", pythonpath="src") == "B\n"


def test_a_rename_of_the_importer_alone_from_above_the_project_changes_nothing(
    tmp_path: Path,
) -> None:
    write(tmp_path, FLAT)
    out = shim("rename_symbol", "proj/main.py", *RENAME, cwd=tmp_path)
    assert out.returncode == 1
    assert "failed proj/pkg/mod.py: defines pkg.mod.A" in out.stderr
    assert "nothing in the project is named" not in out.stderr
    assert runs("main.py", tmp_path / "proj") == "A\n"


def test_a_root_that_does_not_exist_is_an_argument_error(tmp_path: Path) -> None:
    write(tmp_path, FLAT)
    out = shim("rename_symbol", "proj", "--root", str(tmp_path / "nonexist"), *RENAME, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == f"shim: --root {tmp_path / 'nonexist'}: no such folder"
    assert (tmp_path / "proj/pkg/mod.py").read_text() == "class A:\n    pass\n"


def test_a_package_found_in_two_projects_below_the_root_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {**FLAT, **{k.replace("proj/", "copy/"): v for k, v in FLAT.items()}})
    out = shim("rename_symbol", "proj", *RENAME, cwd=tmp_path)
    assert out.returncode == 2
    assert "pkg is found in more than one folder below" in out.stderr
    assert "Traceback" not in out.stderr
    assert (tmp_path / "proj/pkg/mod.py").read_text() == "class A:\n    pass\n"


def test_two_distributions_sharing_a_namespace_are_one_package_from_the_repository(
    tmp_path: Path,
) -> None:
    """pkg-a/src/ns/a and pkg-b/src/ns/b are portions of one namespace package ``ns``: run
    from the repository, ns.a.models is pkg-a's, and pkg-b's importer changes with it (the
    run was refused, and the advice to run from pkg-a left pkg-b's import broken)."""
    write(
        tmp_path,
        {
            "pkg-a/pyproject.toml": "[project]\nname = 'ns-a'\nversion = '0'\n",
            "pkg-a/src/ns/a/__init__.py": "",
            "pkg-a/src/ns/a/models.py": "class User:\n    pass\n",
            "pkg-b/pyproject.toml": "[project]\nname = 'ns-b'\nversion = '0'\n",
            "pkg-b/src/ns/b/__init__.py": "from ns.a.models import User\n",
            "pkg-b/src/ns/b/__main__.py": "from ns.b import User\nprint(User.__name__)\n",
        },
    )
    rename = ("--arg", "old_name=ns.a.models.User", "--arg", "new_name=Account")
    out = shim("rename_symbol", ".", *rename, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "3 changed" in out.stderr
    path = f"{tmp_path / 'pkg-a/src'}:{tmp_path / 'pkg-b/src'}"
    assert runs("pkg-b/src/ns/b/__main__.py", tmp_path, pythonpath=path) == "Account\n"


def test_migrate_call_from_the_folder_above_follows_a_re_export(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "proj/pkg/__init__.py": "from .mod import fetch\n",
            "proj/pkg/mod.py": "def fetch(url, query=None):\n    return query\n",
            "proj/main.py": 'from pkg import fetch\nprint(fetch("u", params=1))\n',
        },
    )
    args = ("--arg", "old_name=pkg.mod.fetch", "--arg", "rename_keywords=params=query")
    out = shim("migrate_call", "proj", *args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert runs("main.py", tmp_path / "proj") == "1\n"


def test_a_move_of_the_importer_alone_from_above_the_project_changes_nothing(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "proj/pkg/__init__.py": "",
            "proj/pkg/models.py": "X = 1\n",
            "proj/main.py": "from pkg import models\nprint(models.X)\n",
        },
    )
    args = ("--arg", "old_module=pkg.models", "--arg", "new_module=pkg.models2")
    out = shim("move_module", "proj/main.py", *args, cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "failed proj/pkg/models.py: is the module this move renames" in out.stderr
    assert (tmp_path / "proj/main.py").read_text() == "from pkg import models\nprint(models.X)\n"


def test_a_rename_in_a_namespace_package_of_a_project_renames_its_definition(
    tmp_path: Path,
) -> None:
    # ns/ has no __init__.py: a namespace package, named from the project's folder
    write(
        tmp_path,
        {
            "proj/pyproject.toml": "",
            "proj/ns/mod.py": "class A:\n    pass\n",
            "proj/main.py": "from ns.mod import A\nprint(A.__name__)\n",
        },
    )
    args = ("--arg", "old_name=ns.mod.A", "--arg", "new_name=B")
    out = shim("rename_symbol", "proj", *args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "2 changed" in out.stderr
    assert runs("main.py", tmp_path / "proj") == "B\n"


@pytest.mark.parametrize("codemod", ["rename_symbol", "migrate_call"])
def test_a_script_importing_a_package_beside_it_deep_in_a_project_follows_its_re_export(
    tmp_path: Path, codemod: str
) -> None:
    # main.py is named from the project's folder (services.api.main) but imports app from
    # its own folder, as `python services/api/main.py` does
    write(
        tmp_path,
        {
            "repo/pyproject.toml": "",
            "repo/services/api/app/__init__.py": "from .mod import f\n",
            "repo/services/api/app/mod.py": "def f(a=0):\n    return a\n\ndef g(a=0):\n"
            "    return a\n",
            "repo/services/api/main.py": "from app import f\nprint(f(a=1))\n",
        },
    )
    args = {
        "rename_symbol": ("--arg", "old_name=app.mod.f", "--arg", "new_name=h"),
        "migrate_call": ("--arg", "old_name=app.mod.f", "--arg", "new_name=g"),
    }[codemod]
    out = shim(codemod, ".", *args, cwd=tmp_path / "repo")
    assert out.returncode == 0, out.stderr
    assert "from app import " in (tmp_path / "repo/services/api/main.py").read_text()
    assert "from app import f\n" not in (tmp_path / "repo/services/api/main.py").read_text()
    assert runs("main.py", tmp_path / "repo/services/api") == "1\n"


def test_a_link_leading_out_of_the_project_is_not_read_nor_asked_for(tmp_path: Path) -> None:
    """pkg/link.py leading to a file outside that imports the symbol: the run read it, then
    failed asking to include it, which the CLI refuses for a link out (exit 1)."""
    write(tmp_path, {**FLAT, "outside/ext.py": "from pkg.mod import A\n"})
    (tmp_path / "proj/pkg/link.py").symlink_to(tmp_path / "outside/ext.py")
    out = shim("rename_symbol", ".", *RENAME, cwd=tmp_path / "proj")
    assert out.returncode == 0, out.stderr
    assert "include it" not in out.stderr
    assert (tmp_path / "outside/ext.py").read_text() == "from pkg.mod import A\n"
    assert runs("main.py", tmp_path / "proj") == "B\n"


def test_an_entry_point_in_the_packaging_files_is_reported(tmp_path: Path) -> None:
    """pyproject.toml's [project.scripts] naming the symbol: the installed script would
    break after the rename, and no codemod rewrites TOML, so the run says where."""
    write(tmp_path, {**FLAT, "proj/pyproject.toml": '[project.scripts]\nrun = "pkg.mod:A"\n'})
    out = shim("rename_symbol", ".", *RENAME, cwd=tmp_path / "proj")
    assert out.returncode == 0, out.stderr
    assert (
        "warning pyproject.toml: line 2: an entry point names pkg.mod.A; not rewritten"
        in out.stderr
    )
