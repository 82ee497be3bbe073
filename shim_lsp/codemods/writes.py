"""Writing a run's results to disk without losing anything: the CLI's last step.

A codemod reads every file first and writes minutes later; a user may save meanwhile. So a
result is written only over the bytes it was made from: each file is checked (same bytes,
writable, not a link, no second hard link, which a rename would split from the new text),
its new content staged in a temporary file beside it, and only then are the temporary files
renamed over the originals, each after a last look at its stat. For a codemod whose changes
go together, nothing is written unless every file can be; a rename that still fails midway
puts back the files already written, from the bytes read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from shim_lsp.codemods.runner import FileResult, Status, Summary
from shim_lsp.workspace.files import read_only, stage_beside, write_atomic

CHANGED_MEANWHILE = "changed while the codemod ran; left as it is"
REMOVED_MEANWHILE = "removed while the codemod ran; not written"


def _held_back(refused: list[str]) -> str:
    files = "file" if len(refused) == 1 else "files"
    shown = ", ".join(refused[:3]) + (", ..." if len(refused) > 3 else "")
    return (
        f"this codemod's changes go together, and {len(refused)} {files} could not be"
        f" written ({shown})"
    )


@dataclass(frozen=True)
class _Staged:
    index: int
    path: Path
    tmp: str
    stamp: tuple[int, int, int]
    """(size, mtime_ns, inode) when the file was found to hold the bytes read."""


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.lstat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _problem(result: FileResult) -> tuple[Status, str] | None:
    """Why the file cannot take its result now, as (status, reason), or None."""
    path = Path(result.path)
    if path.is_symlink():
        return ("failed", "is a link; a link is never replaced by a file")
    try:
        now = path.read_bytes()
    except FileNotFoundError:
        return ("skipped", REMOVED_MEANWHILE)
    except OSError as exc:
        return ("failed", f"cannot be read again before writing: {exc.strerror or exc}")
    if result.old is not None and now != result.old:
        return ("skipped", CHANGED_MEANWHILE)
    if read_only(path):
        return ("failed", "is read-only: not written (make it writable to change it)")
    links = path.stat().st_nlink
    if links > 1:
        # a staged file renamed over this name would leave the other names with the old text
        return (
            "failed",
            f"has {links} hard links; writing it would change this name only, and the other"
            " names would keep the old text: not written (break the link, or edit it by hand)",
        )
    return None


def write_changed(summary: Summary, *, together: bool) -> int:
    """Write every changed result over its file; a file that cannot take it becomes skipped
    (changed meanwhile) or failed (cannot be written), with its reason, in ``summary``.
    Returns how many changes that go together were held back, not written because another
    could not be (a face says so in its exit status: the change asked for was not made)."""
    results = summary.results
    staged: list[_Staged] = []
    refused: list[str] = []

    def refuse(index: int, status: Status, reason: str) -> None:
        refused.append(results[index].path)
        results[index] = replace(results[index], status=status, reason=reason, new=None)

    try:
        for i, result in enumerate(results):
            if result.status != "changed" or result.new is None:
                continue
            path = Path(result.path)
            try:
                stamp = _stamp(path)
                problem = _problem(result)
                if problem is None:
                    staged.append(_Staged(i, path, stage_beside(path, result.new), stamp))
            except FileNotFoundError:
                problem = ("skipped", REMOVED_MEANWHILE)
            except OSError as exc:
                problem = ("failed", f"cannot be written: {exc.strerror or exc}")
            if problem is not None:
                refuse(i, *problem)
        if together and refused:
            reason = f"not written: {_held_back(refused)}"
            for s in staged:
                results[s.index] = replace(
                    results[s.index], status="skipped", reason=reason, new=None
                )
            return len(refused) + len(staged)
        written: list[_Staged] = []
        for s in staged:
            failure: tuple[Status, str]
            try:
                if _stamp(s.path) != s.stamp:
                    failure = ("skipped", CHANGED_MEANWHILE)
                else:
                    os.replace(s.tmp, s.path)
                    written.append(s)
                    continue
            except OSError as exc:
                failure = ("failed", f"cannot be written: {exc.strerror or exc}")
            refuse(s.index, *failure)
            if together:
                _put_back(summary, written, staged, refused)
                return len(staged) + len(refused) - 1
    finally:
        for s in staged:
            Path(s.tmp).unlink(missing_ok=True)
    return 0


def _put_back(
    summary: Summary, written: list[_Staged], staged: list[_Staged], refused: list[str]
) -> None:
    """A go-together write failed midway: the files already written get their bytes back."""
    results = summary.results
    done = {s.index for s in written}
    for s in staged:
        result = results[s.index]
        if result.status != "changed":
            continue
        reason = f"not written: {_held_back(refused)}"
        if s.index in done:
            try:
                if result.old is None:
                    raise OSError("the bytes read were not kept")
                write_atomic(s.path, result.old)
                reason = f"written, then put back as it was: {_held_back(refused)}"
            except OSError as exc:
                results[s.index] = replace(
                    result,
                    status="failed",
                    reason=f"written, and could not be put back ({exc.strerror or exc}): "
                    "it holds the codemod's change while other files do not",
                    new=None,
                )
                continue
        results[s.index] = replace(result, status="skipped", reason=reason, new=None)
