"""The server bundled in the .vsix imports on each CPython it is built for, with nothing else.

The bundle is built as `npm run package` builds it (editor-client/bundle/build.py, wheels from
the package registry; pip's cache makes a re-run quick), then each bundled ABI whose
interpreter is on this machine imports every SHIM module from it under `-I -S` and an empty
environment: no site-packages, no PYTHONPATH, so a dependency missing from the bundle fails.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "editor-client" / "bundle" / "build.py"

IMPORT_ALL = """
import importlib, pkgutil, sys
sys.path[0:0] = [sys.argv[1], sys.argv[2]]
import shim_lsp, shim_transforms
names = []
for package in (shim_lsp, shim_transforms):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
        names.append(info.name)
import zstandard, libcst.native, yaml, psutil
assert zstandard.backend == "cext", zstandard.backend
for module in (zstandard, libcst, yaml, psutil, shim_lsp):
    assert module.__file__.startswith(sys.argv[1].rsplit("/", 1)[0]), module.__file__
print(len(names))
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "bundled"
    subprocess.run([sys.executable, str(BUILD), "--out", str(out)], check=True)
    return out


def interpreter_for(abi: str) -> str | None:
    """A CPython of this ABI on this machine: on PATH, Debian's, or one pyenv installed."""
    version = f"{abi[2]}.{abi[3:]}"
    candidates = [shutil.which(f"python{version}"), f"/usr/bin/python{version}"]
    pyenv = os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")
    candidates += sorted(glob.glob(pyenv))
    for candidate in candidates:
        if candidate is None or not os.path.exists(candidate):
            continue
        answer = subprocess.run(
            [candidate, "-I", "-S", "-c", "import sys; print('cp%d%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            env={},
        )
        if answer.returncode == 0 and answer.stdout.strip() == abi:
            return candidate
    return None


def bundled_abis(bundle: Path) -> list[str]:
    abis: list[str] = json.loads((bundle / "manifest.json").read_text())["abis"]
    return abis


def test_bundle_has_a_folder_per_abi_and_shares_the_pure_python_part(bundle: Path) -> None:
    libs = bundle / "libs"
    assert sorted(p.name for p in libs.iterdir()) == sorted(["common", *bundled_abis(bundle)])
    assert (libs / "common" / "shim_lsp" / "__main__.py").is_file()
    assert (libs / "common" / "shim_transforms" / "__init__.py").is_file()
    assert (libs / "common" / "yaml" / "__init__.py").is_file()
    assert not list(libs.rglob("_yaml*.so")), "PyYAML goes pure-Python, shared once"
    assert not list(libs.rglob("__pycache__"))


@pytest.mark.parametrize("abi", ["cp311", "cp312", "cp313"])
def test_bundled_tree_imports_with_no_site_packages(bundle: Path, abi: str) -> None:
    assert abi in bundled_abis(bundle)
    python = interpreter_for(abi)
    if python is None:
        pytest.skip(f"no CPython {abi} on this machine")
    libs = bundle / "libs"
    imported = subprocess.run(
        [python, "-I", "-S", "-c", IMPORT_ALL, str(libs / abi), str(libs / "common")],
        capture_output=True,
        text=True,
        env={},
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert int(imported.stdout) > 20
    launcher = bundle / "tool" / "shim_server.py"
    checked = subprocess.run(
        [python, "-I", "-S", str(launcher), "--check"], capture_output=True, text=True, env={}
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.split() == ["0.1.0", "bundled", abi]


def test_launcher_names_the_pythons_it_needs_on_another_one(bundle: Path) -> None:
    manifest = bundle / "manifest.json"
    data = json.loads(manifest.read_text())
    here = "cp{}{}".format(*sys.version_info[:2])
    manifest.write_text(json.dumps({**data, "abis": [a for a in data["abis"] if a != here]}))
    try:
        checked = subprocess.run(
            [sys.executable, "-I", str(bundle / "tool" / "shim_server.py"), "--check"],
            capture_output=True,
            text=True,
        )
    finally:
        manifest.write_text(json.dumps(data))
    assert checked.returncode == 1
    assert "SHIM's bundled server needs CPython 3." in checked.stderr
    assert f"is cpython {sys.version.split()[0]}" in checked.stderr
