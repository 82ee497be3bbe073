"""Build ``bundled/``: SHIM's server with every runtime dependency, for one VS Code target.

    python3 bundle/build.py [--target linux-x64] [--abi cp311 --abi cp312 ...] [--out bundled]

Wheels come from the package registry (``pip download --only-binary :all:``) at the releases
pinned in ``requirements.txt``, as ``overrides/<target>.txt`` changes them for a target, one set
per CPython ABI; nothing is compiled, here or on the user's machine. The layout the launcher
(``shim_server.py``) reads:

    bundled/tool/shim_server.py   picks libs/cpXY by sys.version_info, puts it first on sys.path
    bundled/libs/common/          what every ABI shares: pure-Python and abi3 wheels, shim_lsp,
                                  shim_transforms
    bundled/libs/common/bin/ruff  ruff's binary (one a target), where ruff.find_ruff_bin() looks
                                  in a ``pip install --target`` layout
    bundled/libs/cpXY/            the wheels built for that CPython only (libcst, zstandard)
    bundled/manifest.json         target, ABIs and releases, for the extension and the tests

The built tree is then checked (``verify``): each native file is for the target's OS and
architecture, sits in the folder of its ABI, and the ones SHIM needs are all there.

Runs with the standard library only (and pip), so any Python 3.11+ with pip builds it.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import stat
import struct
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
# LLVM's strip, where installed, takes the ELF objects of any architecture.
STRIPPABLE = {("linux-x64", "x86_64"), ("linux-arm64", "aarch64")}


def strip_tool(target: str) -> str | None:
    if (target, platform.machine()) in STRIPPABLE and shutil.which("strip"):
        return shutil.which("strip")
    return shutil.which("llvm-strip") if target.startswith("linux-") else None


def strip_debug(target: str, root: Path) -> bool:
    """`strip --strip-debug` each native module, where this machine can; True when done."""
    strip = strip_tool(target)
    if strip is None:
        return False
    for so in sorted(root.rglob("*.so")):
        subprocess.run([strip, "--strip-debug", str(so)], check=True)
    return True


def wheel_project(name: str) -> str:
    return canonical(name.split("-", 1)[0])


def canonical(project: str) -> str:
    """PEP 503's normal form of a project name: `PyYAML`, `typing_extensions` -> `pyyaml`, ..."""
    return re.sub(r"[-_.]+", "-", project).lower()


PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+!-]*)")


def read_pins(path: Path) -> dict[str, str]:
    """`name==version` lines (comments and blank lines aside), by canonical name.

    Only exact pins: a range would let two builds bundle different releases.
    """
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.fullmatch(line)
        if match is None:
            raise ValueError(f"{path.name}:{number}: not a `name==version` pin: {raw!r}")
        name = canonical(match[1])
        if name in pins:
            raise ValueError(f"{path.name}:{number}: {match[1]} is pinned twice")
        pins[name] = line
    return pins


def pins(target: str, folder: Path = HERE) -> list[str]:
    """The pins for one target: requirements.txt, with its lines replaced by the target's
    overrides/<target>.txt (pip evaluates environment markers on the machine that downloads,
    not for --platform, so a per-target release has to be chosen here)."""
    chosen = read_pins(folder / "requirements.txt")
    override = folder / "overrides" / f"{target}.txt"
    if override.exists():
        for name, line in read_pins(override).items():
            if name not in chosen:
                raise ValueError(f"{override.name} overrides {name}, which no pin names")
            chosen[name] = line
    return [chosen[name] for name in sorted(chosen)]


def download(target: str, abi: str, dest: Path) -> list[Path]:
    """The pinned wheels for one ABI on one target; --no-deps: the pins are the whole closure."""
    version = f"{abi[2]}.{abi[3:]}"
    requirements = dest.parent / f"requirements-{target}.txt"
    requirements.write_text("\n".join(pins(target)) + "\n")
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
            str(requirements),
            "-d",
            str(dest),
        ],
        check=True,
    )
    return sorted(dest.glob("*.whl"))


def installed_name(filename: str) -> str | None:
    """Where a wheel's file goes in a `pip install --target` layout, or None when nowhere.

    `<name>.data/scripts/` goes to `bin/` (where ruff.find_ruff_bin() looks), `purelib/` and
    `platlib/` to the top; headers and data files are never used by the server.
    """
    first, _, rest = filename.partition("/")
    if not first.endswith(".data"):
        return filename
    scheme, _, inside = rest.partition("/")
    if scheme == "scripts":
        return f"bin/{inside}"
    if scheme in ("purelib", "platlib"):
        return inside
    return None


def extract(wheel: Path, into: Path, pure_only: bool = False) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = installed_name(info.filename)
            if name is None or info.is_dir():
                continue
            parts = name.split("/")
            if PRUNE_DIRS.intersection(parts[:-1]) or name.startswith(PRUNE_FILES):
                continue
            if pure_only and (
                name.endswith(NATIVE_SUFFIXES)
                or name.startswith(PURE_ONLY[wheel_project(wheel.name)])
            ):
                continue
            path = into / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(zf.read(info))
            if parts[0] == "bin":
                path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


# Each target's binary format and CPU; a native file of any other is a wrong wheel.
MACHINES: dict[str, tuple[str, str]] = {
    "linux-x64": ("ELF", "x86_64"),
    "linux-arm64": ("ELF", "arm64"),
    "darwin-x64": ("Mach-O", "x86_64"),
    "darwin-arm64": ("Mach-O", "arm64"),
    "win32-x64": ("PE", "x86_64"),
}
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "arm64", 0x03: "x86"}
MACHO_CPUS = {0x01000007: "x86_64", 0x0100000C: "arm64", 0x07: "x86"}
PE_MACHINES = {0x8664: "x86_64", 0xAA64: "arm64", 0x14C: "x86"}

# The native parts SHIM imports or runs, by the path they start with: once per ABI for the
# CPython-specific wheels; once for the target for psutil (abi3) and ruff (one binary).
NEEDED_PER_ABI = ("libcst/native.", "zstandard/backend_c.")
NEEDED_ONCE = {
    "ELF": ("psutil/_psutil_linux.", "bin/ruff"),
    "Mach-O": ("psutil/_psutil_osx.", "bin/ruff"),
    "PE": ("psutil/_psutil_windows.", "bin/ruff.exe"),
}
VERSION_TAG = re.compile(r"\.(?:cpython-|cp)(3\d+)-")


def machine_of(path: Path) -> tuple[str, set[str]] | None:
    """(format, CPUs) from an executable's header; None for a file that is none of the three."""
    try:
        return read_header(path)
    except struct.error:
        return None


def read_header(path: Path) -> tuple[str, set[str]] | None:
    with path.open("rb") as f:
        head = f.read(64)
        if head[:4] == b"\x7fELF":
            (code,) = struct.unpack_from("<H" if head[5] == 1 else ">H", head, 18)
            return "ELF", {ELF_MACHINES.get(code, hex(code))}
        if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe"):
            (cpu,) = struct.unpack_from("<I", head, 4)
            return "Mach-O", {MACHO_CPUS.get(cpu, hex(cpu))}
        if head[:4] in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf"):
            # A universal binary: a big-endian table of its slices' CPUs.
            (count,) = struct.unpack_from(">I", head, 4)
            entry = 20 if head[3] == 0xBE else 32
            f.seek(8)
            table = f.read(count * entry)
            cpus = {struct.unpack_from(">I", table, i * entry)[0] for i in range(count)}
            return "Mach-O", {MACHO_CPUS.get(cpu, hex(cpu)) for cpu in cpus}
        if head[:2] == b"MZ":
            (offset,) = struct.unpack_from("<I", head, 0x3C)
            f.seek(offset)
            signature, code = struct.unpack("<4sH", f.read(6))
            if signature == b"PE\0\0":
                return "PE", {PE_MACHINES.get(code, hex(code))}
    return None


def verify(target: str, abis: list[str], libs: Path) -> list[str]:
    """What is wrong with a built `libs/` for `target`: a native file for another OS, CPU or
    CPython, or one SHIM needs that is missing. Reads headers only, so any target is checked
    on any machine."""
    fmt, cpu = MACHINES[target]
    problems: list[str] = []
    for folder in sorted(p for p in libs.iterdir() if p.is_dir()):
        abi = folder.name
        natives = sorted(
            path.relative_to(folder).as_posix()
            for path in folder.rglob("*")
            if path.is_file()
            and (path.name.endswith(NATIVE_SUFFIXES) or path.relative_to(folder).parts[0] == "bin")
        )
        for name in natives:
            found = machine_of(folder / name)
            if found is None or found[0] != fmt or cpu not in found[1]:
                what = "not an executable" if found is None else f"{found[0]} {sorted(found[1])}"
                problems.append(f"{abi}/{name}: {what}, not {fmt} {cpu}")
            tag = VERSION_TAG.search(name)
            if abi == "common" and tag:
                problems.append(f"common/{name}: built for one CPython, shared by all")
            elif abi != "common" and (tag is None or f"cp{tag[1]}" != abi):
                problems.append(f"{abi}/{name}: not built for {abi}")
        needed = NEEDED_ONCE[fmt] if abi == "common" else NEEDED_PER_ABI
        for start in needed:
            if not any(
                n == start or (start.endswith(".") and n.startswith(start)) for n in natives
            ):
                problems.append(f"{abi}: no {start.rstrip('.')}")
    missing = set(abis) - {p.name for p in libs.iterdir()}
    problems += [f"{abi}: no folder" for abi in sorted(missing)]
    return problems


NOT_BUNDLED = {"mcp": "shim_lsp/mcp"}
"""Runtime dependencies the .vsix leaves out, with the part of SHIM that alone needs them: the
extension runs the language server, never ``shim mcp`` (an MCP client starts that from a pip
install), and the MCP SDK's closure (pydantic, starlette, uvicorn...) would double the bundle."""


def copy_package(source: Path, dest: Path) -> None:
    left_out = {Path(part).name for part in NOT_BUNDLED.values() if part.startswith(source.name)}
    shutil.copytree(
        source,
        dest,
        ignore=lambda folder, names: [
            n
            for n in names
            if n == "__pycache__"
            or n.endswith(".pyc")
            or (Path(folder) == source and n in left_out)
        ],
    )


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
    problems = verify(target, abis, libs)
    if problems:
        raise SystemExit(f"the {target} bundle is wrong:\n  " + "\n  ".join(problems))
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
    parser.add_argument("--list-targets", action="store_true", help="print the targets, stop")
    args = parser.parse_args()
    if args.list_targets:
        print("\n".join(sorted(PLATFORMS)))
        return 0
    abis = args.abis or list(DEFAULT_ABIS)
    build(args.target, abis, args.out)
    folders = sorted((args.out / "libs").iterdir())
    parts = ", ".join(f"{d.name} {size(d) / 1e6:.1f} MB" for d in folders)
    print(f"bundled SHIM for {args.target} ({', '.join(abis)}) in {args.out}: {parts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
