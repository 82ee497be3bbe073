"""Start the SHIM server bundled with the extension, on whatever Python 3.11+ runs this file.

The extension runs it as ``python -I bundled/tool/shim_server.py``: ``-I`` leaves out the
user's site-packages, PYTHON* variables and the current folder; the bundle's libraries for
this CPython go first on ``sys.path``, so the user's environment is read only after them (for
their own codemod modules) and is never written to. ``--check`` prints the version and exits:
the extension's probe before it starts the server.
"""

import json
import os
import runpy
import sys

BUNDLED = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    with open(os.path.join(BUNDLED, "manifest.json"), encoding="utf-8") as f:
        abis = json.load(f)["abis"]
    here = "{}.{}.{}".format(*sys.version_info[:3])
    abi = "cp{}{}".format(*sys.version_info[:2])
    versions = ", ".join(f"{a[2]}.{a[3:]}" for a in abis)
    if sys.implementation.name != "cpython" or abi not in abis:
        sys.exit(
            f"SHIM's bundled server needs CPython {versions}; "
            f"{sys.executable} is {sys.implementation.name} {here}"
        )
    libs = os.path.join(BUNDLED, "libs")
    sys.path[0:0] = [os.path.join(libs, abi), os.path.join(libs, "common")]
    if sys.argv[1:] == ["--check"]:
        sys.dont_write_bytecode = True  # a probe leaves the bundle as it found it
        import shim_lsp

        print(shim_lsp.__version__, "bundled", abi)
        return
    runpy.run_module("shim_lsp", run_name="__main__", alter_sys=True)


main()
