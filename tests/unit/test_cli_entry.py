"""The ``shim`` executable's entry loads the CLI with the garbage collector off: only a
short-lived command (``shim analyze``) keeps it off."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from shim_lsp import cli


def test_a_command_other_than_analyze_runs_with_the_collector_back_on(tmp_path: Path) -> None:
    gc.disable()
    try:
        assert cli.main(["metrics", "--state-dir", str(tmp_path)], own_process=True) == 2
        assert gc.isenabled()
    finally:
        gc.enable()


def test_the_server_serves_with_the_collector_on_and_its_modules_frozen() -> None:
    """``python -m shim_lsp`` loads with the collector off; a server left without it would
    grow with every cycle its work makes."""
    probe = (
        "import gc, runpy, shim_lsp.server.main as m\n"
        "m.serve = lambda: print(gc.isenabled(), gc.get_freeze_count() > 10_000) or 0\n"
        "runpy.run_module('shim_lsp', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
