"""Files that the editor windows of the workspace's Redis group hold unsaved: windows on other
machines, whose journals sit in stores this chat cannot read. Read with the coordination
package's own connection, keys and record checks (``first_group``, as ``shim windows`` reads);
every look is bounded, and Redis away or slow is an answer that says so, never an error."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shim_lsp.settings import Settings, resolve_redis_url

log = logging.getLogger(__name__)

LOOK_TIMEOUT_S = 2.5
"""The longest a tool waits on Redis: past it the group is reported unreachable."""


@dataclass(frozen=True)
class HeldElsewhere:
    """A file a member of the group holds with unsaved edits, as a path in this workspace."""

    path: Path
    session: str
    host: str
    since: float


@dataclass(frozen=True)
class Look:
    state: str
    """off (no Redis configured), connected, or unreachable (``problem`` says why)."""
    workspace_id: str | None = None
    members: int = 0
    held: list[HeldElsewhere] = field(default_factory=list)
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state}
        if self.state != "off":
            out |= {"workspaceId": self.workspace_id, "members": self.members}
        if self.problem:
            out["problem"] = self.problem
        return out


class Group:
    """The chat's view of its workspace's group; no connection is kept between looks (a
    tool call is rare next to a window's keystrokes)."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.url = resolve_redis_url(settings)
        self.prefix = settings.redis_key_prefix
        self.folder = folder
        self.workspace_id: str | None = None
        if self.url is not None:
            from shim_lsp.coordination.workspace_id import default_workspace_id

            self.workspace_id = settings.workspace_id or default_workspace_id(folder)

    async def look(self, contains: Callable[[Path], bool]) -> Look:
        """The group's members and the files they hold unsaved inside this workspace."""
        if self.url is None or self.workspace_id is None:
            return Look("off")
        from shim_lsp.coordination.connection import CoordinationError, parse_target
        from shim_lsp.coordination.group import first_group

        try:
            target = parse_target(self.url)
        except CoordinationError as exc:
            return self._unreachable(str(exc))
        try:
            group = await asyncio.wait_for(
                first_group(target, self.prefix, [self.workspace_id]), LOOK_TIMEOUT_S
            )
        except CoordinationError as exc:
            return self._unreachable(str(exc))
        except TimeoutError:
            return self._unreachable(
                f"Redis at {target.shown} did not answer in {LOOK_TIMEOUT_S} s"
            )
        held = [
            HeldElsewhere(path, m.session, m.host, d.since)
            for m in group.members
            for d in m.dirty
            if (path := self._inside(d.path, contains)) is not None
        ]
        return Look("connected", self.workspace_id, len(group.members), held)

    def _unreachable(self, problem: str) -> Look:
        log.warning("the group could not be asked: %s", problem)
        problem += (
            ": files held unsaved in editor windows on other machines are not known; those"
            " on this machine still are"
        )
        return Look("unreachable", self.workspace_id, problem=problem)

    def _inside(self, rel: str, contains: Callable[[Path], bool]) -> Path | None:
        """A member's workspace-relative path in this workspace, links followed; None when
        it leads outside (a member's record never leads SHIM out of its folder)."""
        real = Path(os.path.realpath(self.folder / rel))
        return real if contains(real) else None
