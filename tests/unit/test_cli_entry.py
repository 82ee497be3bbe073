"""The ``shim`` executable's entry loads the CLI with the garbage collector off: only a
short-lived command (``shim analyze``) keeps it off."""

from __future__ import annotations

import gc
from pathlib import Path

from shim_lsp import cli


def test_a_command_other_than_analyze_runs_with_the_collector_back_on(tmp_path: Path) -> None:
    gc.disable()
    try:
        assert cli.main(["metrics", "--state-dir", str(tmp_path)], own_process=True) == 2
        assert gc.isenabled()
    finally:
        gc.enable()
