"""Undoing a codemod batch: which files go back to their text before the run, and which are
left as they are because they changed since. One decision for every face (the editor applies
it as a workspace edit, an AI chat writes the files)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shim_lsp.store.batches import Batch

CHANGED_SINCE = "changed since the codemod; left as it is"


@dataclass
class UndoPlan:
    reverts: list[tuple[str, str, str]] = field(default_factory=list)
    """(uri, text now, as the codemod left it; text before the codemod) of each file undone."""
    refused: list[dict[str, str]] = field(default_factory=list)
    """{"uri", "reason"} of each file left as it is."""
    held_back: str | None = None
    """Why nothing is undone at all (changes that go together, some changed since)."""


def plan_undo(
    batch: Batch,
    text_now: Callable[[str], str | None],
    together: Callable[[], bool],
    *,
    force: bool,
    refuse: Callable[[str], str | None] = lambda _uri: None,
) -> UndoPlan:
    """``text_now``: a file's text now (None: gone); ``refuse``: another reason to leave a
    file alone (an editor holds it unsaved); ``together``: asked only when a file is left."""
    plan = UndoPlan()
    for uri, (before, after) in sorted(batch.files.items()):
        reason = refuse(uri)
        now = text_now(uri) or ""
        if reason is None and now != after:
            if now == before:
                continue  # as before the run already (a run cut off before writing it)
            reason = CHANGED_SINCE
        if reason is not None:
            plan.refused.append({"uri": uri, "reason": reason})
        else:
            plan.reverts.append((uri, after, before))
    if plan.refused and not force and together():
        plan.held_back = (
            f"{batch.name}'s changes go together, and {len(plan.refused)} of its "
            f"{len(batch.files)} files cannot be undone: undoing the rest would leave the "
            "project half changed; nothing undone (force undoes the rest)"
        )
    return plan
