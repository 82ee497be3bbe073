"""The server bundled in the .vsix imports on each CPython it is built for, with nothing else.

The bundle is built as `npm run package` builds it (editor-client/bundle/build.py, wheels from
the package registry; pip's cache makes a re-run quick), then each bundled ABI whose
interpreter is on this machine imports every SHIM module from it under `-I -S` and an empty
environment: no site-packages, no PYTHONPATH, so a dependency missing from the bundle fails.

Only linux-x64 is built by default; SHIM_BUNDLE_ALL_TARGETS=1 also builds every other target
(downloads only: their native files are checked by their headers, not run).
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "editor-client" / "bundle" / "build.py"


def load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bundle_build", BUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load_build()
TARGETS = sorted(build.PLATFORMS)

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
    """Built here, or the one ``npm run package`` built from this checkout just before
    (``$SHIM_BUNDLE_DIR``: ``scripts/test`` builds the .vsix first and tests what it holds)."""
    built = os.environ.get("SHIM_BUNDLE_DIR")
    if built:
        assert (Path(built) / "manifest.json").is_file(), f"no bundle at {built}"
        return Path(built)
    out = tmp_path_factory.mktemp("bundle") / "bundled"
    subprocess.run([sys.executable, str(BUILD), "--out", str(out)], check=True)
    return out


def interpreters_for(abi: str) -> list[str]:
    """The CPythons of this ABI on this machine (on PATH, Debian's, pyenv's), one per release:
    their patch releases differ in what the bundle must hold (redis-py needs async-timeout
    below 3.11.3, and Debian 12's python3 is 3.11.2)."""
    version = f"{abi[2]}.{abi[3:]}"
    candidates = [shutil.which(f"python{version}"), f"/usr/bin/python{version}"]
    pyenv = os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")
    candidates += sorted(glob.glob(pyenv))
    found: dict[str, str] = {}
    for candidate in candidates:
        if candidate is None or not os.path.exists(candidate):
            continue
        answer = subprocess.run(
            [
                candidate,
                "-I",
                "-S",
                "-c",
                "import sys; print('cp%d%d' % sys.version_info[:2], sys.version.split()[0])",
            ],
            capture_output=True,
            text=True,
            env={},
        )
        tag, _, release = answer.stdout.strip().partition(" ")
        if answer.returncode == 0 and tag == abi:
            found.setdefault(release, candidate)
    return list(found.values())


def interpreter_for(abi: str) -> str | None:
    """A CPython of this ABI on this machine, or None."""
    return next(iter(interpreters_for(abi)), None)


def bundled_abis(bundle: Path) -> list[str]:
    abis: list[str] = json.loads((bundle / "manifest.json").read_text())["abis"]
    return abis


def test_bundle_has_a_folder_per_abi_and_shares_the_pure_python_part(bundle: Path) -> None:
    libs = bundle / "libs"
    assert sorted(p.name for p in libs.iterdir()) == sorted(["common", *bundled_abis(bundle)])
    assert (libs / "common" / "shim_lsp" / "__main__.py").is_file()
    assert (libs / "common" / "shim_transforms" / "__init__.py").is_file()
    assert not (libs / "common" / "shim_lsp" / "mcp").exists(), "the .vsix runs no MCP server"
    assert (libs / "common" / "yaml" / "__init__.py").is_file()
    assert not list(libs.rglob("_yaml*.so")), "PyYAML goes pure-Python, shared once"
    assert not list(libs.rglob("__pycache__"))


@pytest.mark.parametrize("abi", ["cp311", "cp312", "cp313"])
def test_bundled_tree_imports_with_no_site_packages(bundle: Path, abi: str) -> None:
    assert abi in bundled_abis(bundle)
    pythons = interpreters_for(abi)
    if not pythons:
        pytest.skip(f"no CPython {abi} on this machine")
    libs = bundle / "libs"
    for python in pythons:
        imported = subprocess.run(
            [python, "-B", "-I", "-S", "-c", IMPORT_ALL, str(libs / abi), str(libs / "common")],
            capture_output=True,
            text=True,
            env={},
            timeout=120,
        )
        assert imported.returncode == 0, f"{python}: {imported.stderr}"
        assert int(imported.stdout) > 20
        launcher = bundle / "tool" / "shim_server.py"
        checked = subprocess.run(
            [python, "-B", "-I", "-S", str(launcher), "--check"],
            capture_output=True,
            text=True,
            env={},
        )
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.split() == ["0.1.0", "bundled", abi]


def test_launcher_names_the_pythons_it_needs_on_another_one(bundle: Path, tmp_path: Path) -> None:
    # A copy whose manifest lacks this Python: the bundle itself may be in use meanwhile.
    data = json.loads((bundle / "manifest.json").read_text())
    here = "cp{}{}".format(*sys.version_info[:2])
    copy = tmp_path / "bundled"
    shutil.copytree(bundle / "tool", copy / "tool")
    (copy / "libs").symlink_to(bundle / "libs")
    (copy / "manifest.json").write_text(
        json.dumps({**data, "abis": [a for a in data["abis"] if a != here]})
    )
    checked = subprocess.run(
        [sys.executable, "-I", str(copy / "tool" / "shim_server.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 1
    assert "SHIM's bundled server needs CPython 3." in checked.stderr
    assert f"is cpython {sys.version.split()[0]}" in checked.stderr


def runtime_dependencies() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


@pytest.mark.parametrize("target", TARGETS)
def test_each_targets_pins_are_exact_and_within_pyprojects_ranges(target: str) -> None:
    pinned = {canonicalize_name(r.name): r for r in map(Requirement, build.pins(target))}
    for requirement in pinned.values():
        (spec,) = requirement.specifier
        assert spec.operator == "==", requirement
        assert requirement.marker is None, requirement
    for dependency in runtime_dependencies():
        if dependency.name in build.NOT_BUNDLED:
            continue
        pin = pinned.get(canonicalize_name(dependency.name))
        assert pin is not None, f"{target}: no pin for {dependency}"
        (version,) = (spec.version for spec in pin.specifier)
        assert dependency.specifier.contains(version, prereleases=True), (
            f"{target}: {pin} is outside pyproject's {dependency}"
        )


def test_overrides_are_for_known_targets_and_change_only_their_own() -> None:
    overrides = sorted((BUILD.parent / "overrides").glob("*.txt"))
    assert {path.stem for path in overrides} <= set(TARGETS)
    base = set(build.pins("linux-x64"))
    for path in overrides:
        changed = set(build.pins(path.stem)) - base
        assert changed == set(build.read_pins(path).values())
    others = [t for t in TARGETS if t not in {path.stem for path in overrides}]
    assert all(set(build.pins(t)) == base for t in others)


def test_an_override_of_a_project_nobody_pins_is_refused(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("libcst==1.9.0\n")
    (tmp_path / "overrides").mkdir()
    (tmp_path / "overrides" / "darwin-x64.txt").write_text("libcts==1.8.6\n")
    assert build.pins("linux-x64", tmp_path) == ["libcst==1.9.0"]
    with pytest.raises(ValueError, match="overrides libcts"):
        build.pins("darwin-x64", tmp_path)


FIND_RUFF = """
import subprocess, sys
sys.path[0:0] = [sys.argv[1]]
from ruff import find_ruff_bin
ruff = find_ruff_bin()
print(ruff)
print(subprocess.run([ruff, "--version"], capture_output=True, text=True, check=True).stdout)
"""


def test_bundled_ruff_is_found_by_find_ruff_bin_and_runs(bundle: Path) -> None:
    common = bundle / "libs" / "common"
    python = next(filter(None, map(interpreter_for, bundled_abis(bundle))), None)
    if python is None:
        pytest.skip("no bundled CPython on this machine")
    if os.path.exists(os.path.join(os.path.dirname(python), "ruff")):
        pytest.skip(f"{python}'s own ruff would be found first")
    found = subprocess.run(
        [python, "-B", "-I", "-S", "-c", FIND_RUFF, str(common)],
        capture_output=True,
        text=True,
        env={},
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    path, version = found.stdout.splitlines()[:2]
    assert path == str(common / "bin" / "ruff")
    pinned = next(p for p in build.pins("linux-x64") if p.startswith("ruff=="))
    assert version == "ruff " + pinned.split("==")[1]
    assert not list(bundle.rglob("ruff*.data")), "the wheel's scripts go to bin/, as pip does"


def test_linux_x64_bundle_passes_its_native_check(bundle: Path) -> None:
    assert build.verify("linux-x64", bundled_abis(bundle), bundle / "libs") == []
    assert build.verify("linux-arm64", bundled_abis(bundle), bundle / "libs"), "an x86-64 tree"


def test_native_check_names_what_is_missing_or_built_for_another_cpython(
    bundle: Path, tmp_path: Path
) -> None:
    libs = tmp_path / "libs"
    shutil.copytree(bundle / "libs" / "cp311", libs / "cp312")
    (libs / "common" / "bin").mkdir(parents=True)
    (libs / "common" / "bin" / "ruff").write_bytes(b"#!")
    problems = build.verify("linux-x64", ["cp311", "cp312"], libs)
    assert "common: no psutil/_psutil_linux" in problems
    assert "common/bin/ruff: not an executable, not ELF x86_64" in problems
    assert "cp311: no folder" in problems
    assert any(p.startswith("cp312/libcst/native.cpython-311") for p in problems)
    foreign = build.verify("darwin-arm64", ["cp312"], libs)
    assert any("ELF ['x86_64'], not Mach-O arm64" in p for p in foreign)


@pytest.mark.skipif(
    os.environ.get("SHIM_BUNDLE_ALL_TARGETS") != "1",
    reason="downloads every target's wheels: set SHIM_BUNDLE_ALL_TARGETS=1",
)
@pytest.mark.parametrize("target", [t for t in TARGETS if t != "linux-x64"])
def test_every_target_bundles_its_own_native_modules_for_each_abi(
    target: str, tmp_path: Path
) -> None:
    out = tmp_path / "bundled"
    subprocess.run([sys.executable, str(BUILD), "--target", target, "--out", str(out)], check=True)
    abis = bundled_abis(out)
    assert abis == list(build.DEFAULT_ABIS)
    assert build.verify(target, abis, out / "libs") == []
    ruff = "ruff.exe" if target.startswith("win32") else "ruff"
    assert (out / "libs" / "common" / "bin" / ruff).is_file()
    if target.startswith("linux-") and shutil.which("llvm-strip"):
        assert json.loads((out / "manifest.json").read_text())["debugInfoStripped"]


EDITOR_CLIENT = REPO / "editor-client"


@pytest.mark.skipif(
    shutil.which("node") is None or not (EDITOR_CLIENT / "node_modules" / "jscpd").is_dir(),
    reason="needs node and editor-client's npm packages (npm ci)",
)
def test_the_bundled_jscpd_runner_finds_duplicates_on_its_own(tmp_path: Path) -> None:
    """out/jscpd-runner.js, as `npm run package` builds it into the .vsix, runs with no
    node_modules beside it: the extension's copy of VS Code's Node.js needs nothing else."""
    import asyncio

    from shim_lsp.analysis import duplicates

    node = shutil.which("node")
    assert node is not None
    subprocess.run([node, "esbuild.mjs", "--production"], cwd=EDITOR_CLIENT, check=True)
    assert "!out/jscpd-runner.js" in (EDITOR_CLIENT / ".vscodeignore").read_text().splitlines()
    alone = tmp_path / "jscpd-runner.js"
    shutil.copy(EDITOR_CLIENT / "out" / "jscpd-runner.js", alone)
    found = duplicates.find_detector(None, None, {duplicates.EDITOR_RUNNER_ENV: str(alone)})
    assert found == duplicates.Detector(node, str(alone))
    block = "".join(f"    total += item.price * {n} + len(items)\n" for n in range(8))
    sources = [
        duplicates.Source("/ws/a.py", "def a(items):\n    total = 0\n" + block),
        duplicates.Source("/ws/b.py", "X = 1\n\n\ndef b(items):\n    total = 0\n" + block),
    ]
    answer = asyncio.run(duplicates.detect(found, sources, 6))
    assert isinstance(answer, list), answer
    (dup,) = answer
    assert {dup.first.path, dup.second.path} == {"/ws/a.py", "/ws/b.py"}
