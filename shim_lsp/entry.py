"""The ``shim`` executable: the CLI in a process of its own, which a short command may end
without the interpreter's cleanup (see ``cli.main``'s ``own_process``).

Outside ``shim_lsp.cli`` on purpose: importing that package loads the parser and logging,
and the cyclic garbage collector is off while they load (``shim analyze`` spent 10 to 20 ms of
its CPU collecting during imports that make no cycles worth freeing before it exits).
"""

from __future__ import annotations

import gc


def main() -> int:
    gc.disable()  # ``cli.main`` turns it back on for every command but the short ones
    from shim_lsp.cli import main as cli_main

    return cli_main(own_process=True)
