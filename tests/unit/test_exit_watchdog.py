"""After ``exit``, the server process ends even when one of its threads is stuck."""

from __future__ import annotations

import subprocess
import sys
import time

STUCK = """
import threading
from shim_lsp.server.lifecycle import exit_within

threading.Thread(target=threading.Event().wait, name="stuck-checkpoint").start()
exit_within(0.5, 0)
"""


def test_a_stuck_thread_does_not_keep_the_process_alive_and_is_named() -> None:
    started = time.monotonic()
    ended = subprocess.run(
        [sys.executable, "-c", STUCK], capture_output=True, text=True, timeout=30
    )
    assert time.monotonic() - started < 15, "Python alone would wait for the thread forever"
    assert ended.returncode == 0
    assert "SHIM was still running stuck-checkpoint" in ended.stderr, ended.stderr


def test_a_process_that_ends_by_itself_is_not_cut_short() -> None:
    quick = "from shim_lsp.server.lifecycle import exit_within\nexit_within(0.5, 1)\n"
    ended = subprocess.run([sys.executable, "-c", quick], capture_output=True, text=True)
    assert ended.returncode == 0 and "ending it now" not in ended.stderr
