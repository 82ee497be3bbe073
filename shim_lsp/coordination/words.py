"""How the group's times read, the same in the editor and in ``shim windows``. No redis-py."""

from __future__ import annotations


def age(seconds: float) -> str:
    """ "40 s old", "3 min old", "2 h old"."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)} s old"
    if seconds < 3600:
        return f"{int(seconds // 60)} min old"
    return f"{int(seconds // 3600)} h old"
