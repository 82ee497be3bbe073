"""Build ``bundled/``: SHIM's server with every runtime dependency, for one VS Code target.

    python3 bundle/build.py [--target linux-x64] [--abi cp311 --abi cp312 ...] [--out bundled]

Wheels come from the package registry (``pip download --only-binary :all:``) at the releases
pinned in ``requirements.txt``, one set per CPython ABI; nothing is compiled, here or on the
user's machine. The layout the launcher (``shim_server.py``) reads:

    bundled/tool/shim_server.py   picks libs/cpXY by sys.version_info, puts it first on sys.path
    bundled/libs/common/          what every ABI shares: pure-Python and abi3 wheels, shim_lsp,
                                  shim_transforms
    bundled/libs/cpXY/            the wheels built for that CPython only (libcst, zstandard)
    bundled/manifest.json         target, ABIs and releases, for the extension and the tests

Runs with the standard library only (and pip), so any Python 3.11+ with pip builds it.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EDITOR_CLIENT = HERE.parent
REPO = EDITOR_CLIENT.parent
DEFAULT_ABIS = ("cp311", "cp312", "cp313")

# pip expands each of these to the older tags of its family (manylinux_2_28 takes 2_17, ...).
PLATFORMS: dict[str, tuple[str, ...]] = {
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux2010_x86_64"),
    "linux-arm64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
    "darwin-x64": ("macosx_11_0_x86_64", "macosx_10_9_universal2"),
    "darwin-arm64": ("macosx_11_0_arm64", "macosx_10_9_universal2"),
    "win32-x64": ("win_amd64",),
}

# Distributions whose native part is only a speed-up: their Python code is kept, once, and the
# extension module dropped (PyYAML falls back to its pure-Python loader without `_yaml`).
PURE_ONLY = {"pyyaml": ("_yaml/",)}
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")

# What the user's Python never needs from a wheel: the packages' own test suites, and
# zstandard's cffi backend (12 MB a CPython), which needs cffi, not bundled: its C one is used.
PRUNE_DIRS = {"tests", "__pycache__"}
PRUNE_FILES = ("zstandard/_cffi.", "zstandard/backend_cffi.py")


# Targets whose ELF objects this machine's `strip` can take: the wheels' own builds keep their
# debug sections (zstandard's C backend: 11.5 MB, 1 MB without), which the user never needs.
STRIPPABLE = {("linux-x64", "x86_64"), ("linux-arm64", "aarch64")}


def strip_debug(target: str, root: Path) -> bool:
    """`strip --strip-debug` each native module, where this machine can; True when done."""
    strip = shutil.which("strip")
    if strip is None or (target, platform.machine()) not in STRIPPABLE:
        return False
    for so in sorted(root.rglob("*.so")):
        subprocess.run([strip, "--strip-debug", str(so)], check=True)
    return True


def wheel_project(name: str) -> str:
    return name.split("-", 1)[0].lower().replace("_", "-")


def download(target: str, abi: str, dest: Path) -> list[Path]:
    """The pinned wheels for one ABI on one target; --no-deps: the pins are the whole closure."""
    version = f"{abi[2]}.{abi[3:]}"
    platforms = [arg for p in PLATFORMS[target] for arg in ("--platform", p)]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary",
            ":all:",
            *platforms,
            "--python-version",
            version,
            "--implementation",
            "cp",
            "--abi",
            abi,
            "--abi",
            "abi3",
            "--abi",
            "none",
            "-r",
            str(HERE / "requirements.txt"),
            "-d",
            str(dest),
        ],
        check=True,
    )
    return sorted(dest.glob("*.whl"))


def extract(wheel: Path, into: Path, pure_only: bool = False) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            parts = info.filename.split("/")
            if (
                info.is_dir()
                or PRUNE_DIRS.intersection(parts[:-1])
                or info.filename.startswith(PRUNE_FILES)
            ):
                continue
            if pure_only and (
                info.filename.endswith(NATIVE_SUFFIXES)
                or info.filename.startswith(PURE_ONLY[wheel_project(wheel.name)])
            ):
                continue
            path = into / info.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(zf.read(info))


def copy_package(source: Path, dest: Path) -> None:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def build(target: str, abis: list[str], out: Path) -> dict[str, object]:
    if out.exists():
        shutil.rmtree(out)
    libs = out / "libs"
    common = libs / "common"
    common.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="shim-bundle-") as tmp:
        wheels = {abi: download(target, abi, Path(tmp) / abi) for abi in abis}
        names = [{w.name for w in ws} for ws in wheels.values()]
        shared = set.intersection(*names)
        done_pure: set[str] = set()
        for abi, ws in wheels.items():
            for wheel in ws:
                project = wheel_project(wheel.name)
                if wheel.name in shared:
                    if abi == abis[0]:
                        extract(wheel, common)
                elif project in PURE_ONLY:
                    if project not in done_pure:
                        extract(wheel, common, pure_only=True)
                        done_pure.add(project)
                else:
                    extract(wheel, libs / abi)
        releases = sorted({"-".join(w.name.split("-")[:2]) for ws in wheels.values() for w in ws})
    stripped = strip_debug(target, libs)
    copy_package(REPO / "shim_lsp", common / "shim_lsp")
    copy_package(REPO / "transforms", common / "shim_transforms")
    (out / "tool").mkdir()
    shutil.copy2(HERE / "shim_server.py", out / "tool" / "shim_server.py")
    manifest: dict[str, object] = {
        "target": target,
        "abis": abis,
        "releases": releases,
        "debugInfoStripped": stripped,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="linux-x64", choices=sorted(PLATFORMS))
    parser.add_argument("--abi", action="append", dest="abis", help="cp311, cp312, ...")
    parser.add_argument("--out", type=Path, default=EDITOR_CLIENT / "bundled")
    args = parser.parse_args()
    abis = args.abis or list(DEFAULT_ABIS)
    build(args.target, abis, args.out)
    folders = sorted((args.out / "libs").iterdir())
    parts = ", ".join(f"{d.name} {size(d) / 1e6:.1f} MB" for d in folders)
    print(f"bundled SHIM for {args.target} ({', '.join(abis)}) in {args.out}: {parts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
