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


def django_tree() -> Path:
    """The unpacked Django sdist, downloaded once with pip."""
    CACHE.mkdir(exist_ok=True)
    archives = sorted(CACHE.glob("django-*.tar.gz")) or sorted(CACHE.glob("Django-*.tar.gz"))
    if not archives:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                DJANGO,
                "-d",
                str(CACHE),
            ],
            check=True,
        )
        archives = sorted(CACHE.glob("[dD]jango-*.tar.gz"))
    archive = archives[-1]
    tree = CACHE / archive.name.removesuffix(".tar.gz")
    if not tree.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(CACHE, filter="data")
    return tree


def fresh_copy(tree: Path, into: Path) -> Path:
    ws = into / "django"
    shutil.copytree(tree, ws)
    return ws
