"""What the benchmarks share: the Django source release from PyPI, and fresh copies of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).parent
CACHE = HERE / ".cache"
DJANGO = "django==5.2.*"


def sdist_tree(requirement: str) -> Path:
    """The unpacked source release of ``requirement`` from PyPI, downloaded once with pip."""
    CACHE.mkdir(exist_ok=True)
    name, _, version = requirement.partition("==")
    pinned = f"{name}-{version}" if version and "*" not in version else f"{name}-"
    prefix = pinned.replace("-", "_").lower()

    def archives() -> list[Path]:
        found = CACHE.glob("*.tar.gz")
        return sorted(a for a in found if a.name.replace("-", "_").lower().startswith(prefix))

    if not archives():
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
                *("--no-binary", ":all:", requirement, "-d", str(CACHE)),
            ],
            check=True,
        )
    archive = archives()[-1]
    tree = CACHE / archive.name.removesuffix(".tar.gz")
    if not tree.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(CACHE, filter="data")
    return tree


def django_tree() -> Path:
    """The unpacked Django sdist, downloaded once with pip."""
    return sdist_tree(DJANGO)


def fresh_copy(tree: Path, into: Path) -> Path:
    ws = into / "django"
    shutil.copytree(tree, ws)
    return ws
