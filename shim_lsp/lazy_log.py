"""A module's logger with ``logging`` loaded when something is first logged.

``shim analyze`` starts ruff before it loads what it does not need to start it: ``logging``
(with ``traceback``, ``tokenize`` and ``textwrap``, which it loads) is ~8 ms of a Python
start, and the modules that start ruff log only when something goes out of the ordinary
(at info level, which the CLI does not show).
"""

from __future__ import annotations

from typing import Any


class LazyLogger:
    """``logging.getLogger(name)``, got (and ``logging`` loaded) at the first call to any
    of its methods."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        import logging

        return getattr(logging.getLogger(self._name), attribute)
