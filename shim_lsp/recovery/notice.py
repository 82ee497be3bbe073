"""The words of the recovery notice: the line a file with unsaved work from an ended session
shows in the editor's Problems ("unsaved work from a session that ended 14:02, ...").

Pure: the server puts it on the file as a diagnostic; a CLI or MCP face may say the same.
"""

from __future__ import annotations

import time

from shim_lsp.store.linecounts import count_changes


def clock_time(ts: float, now: float | None = None) -> str:
    """Local time of day ("14:02"), with the date when it was not today."""
    when = time.localtime(ts)
    today = time.localtime(now if now is not None else time.time())
    if (when.tm_year, when.tm_yday) == (today.tm_year, today.tm_yday):
        return time.strftime("%H:%M", when)
    return time.strftime("%Y-%m-%d %H:%M", when)


def line_changes(before: str, after: str) -> str:
    """What restoring changes, as the extension's review list words it ("+3" and a minus
    sign before the lines removed); "many lines" past what a minimal diff counts quickly."""
    counted = count_changes(before, after)
    if counted is None:
        return "many lines"
    added, removed = counted
    if added == 0 and removed == 0:
        return "no changed lines"
    parts = ([f"+{added}"] if added else []) + ([f"\u2212{removed}"] if removed else [])
    return f"{' '.join(parts)} {'line' if added + removed == 1 else 'lines'}"


def notice_message(
    ended_at: float,
    base: str | None,
    recovered: str,
    open_in_editor: bool,
    now: float | None = None,
) -> str:
    """What the notice says: when the session ended, and how much differs from what the user
    sees now (the open buffer, else the file on disk; ``base`` None: no file on disk)."""
    if open_in_editor:
        against = "the open editor"
    elif base is None:
        against = "an empty file (it is not on disk)"
    else:
        against = "the file on disk"
    changes = line_changes(base or "", recovered)
    return (
        f"Unsaved work from a session that ended {clock_time(ended_at, now)}: "
        f"{changes} against {against}"
    )
