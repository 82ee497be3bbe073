"""The feature seam: each capability is a ``Feature`` that holds its own state, declares its
commands beside their handlers, and listens to the LSP events it needs.

The server registers every LSP method once (``factory.py``) and fans it out to each feature
that overrides the matching hook; one feature's failure is logged on its own and never stops
another (esbonio's ``call_features`` is the model). A feature never registers a pygls handler
itself: pygls allows one handler per method, the seam allows many listeners.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
from lsprotocol import types

if TYPE_CHECKING:
    from shim_lsp.server.app import ShimLanguageServer
    from shim_lsp.settings import Settings

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


@attrs.define
class NoArgs:
    pass


@attrs.frozen
class CommandSpec:
    """One ``workspace/executeCommand`` command, declared by ``@command`` on its handler."""

    id: str
    args: type[Any]
    """The attrs class its one camelCase argument object is structured into."""
    quick: bool
    """Answered at once from memory (a plain function on the event loop)."""
    progress: bool
    """Reports progress on the request's ``workDoneToken`` (passed in its argument object)."""


def command(
    id: str, args: type[Any] = NoArgs, *, quick: bool = False, progress: bool = False
) -> Callable[[F], F]:
    """Declare a feature method as the handler of command ``id``.

    The method takes the session engine and the structured argument object; it raises
    ``LookupError`` for what the arguments name but is not there (answered as invalid
    params), ``OSError``/``ValueError`` for the disk's and the store's failures.
    """

    def decorate(fn: F) -> F:
        if quick == inspect.iscoroutinefunction(fn):
            raise TypeError(
                f"{id}: a quick command is a plain method answered at once; any other is async"
            )
        fn.__shim_command__ = CommandSpec(id, args, quick, progress)  # type: ignore[attr-defined]
        return fn

    return decorate


class Feature:
    """One capability. Hooks default to doing nothing; the server calls a feature's hook only
    when the feature overrides it. Event hooks run on the event loop: keep them quick and
    hand slow work to a thread or the session's writer."""

    name: ClassVar[str] = "feature"
    code_action_kinds: ClassVar[tuple[str, ...]] = ()
    """The code action kinds this feature offers (announced in ``initialize``)."""

    def __init__(self, ls: ShimLanguageServer) -> None:
        self.ls = ls

    @classmethod
    def commands(cls) -> Iterator[tuple[CommandSpec, str]]:
        """Each declared command and the name of its handler method."""
        for attr, value in inspect.getmembers(cls):
            spec = getattr(value, "__shim_command__", None)
            if isinstance(spec, CommandSpec):
                yield spec, attr

    # Document and workspace events, after pygls has updated its copy of the text.
    def document_opened(self, uri: str, params: types.DidOpenTextDocumentParams) -> None: ...

    def document_changed(self, uri: str, params: types.DidChangeTextDocumentParams) -> None: ...

    def document_saved(self, uri: str) -> None: ...

    def document_closed(self, uri: str) -> None: ...

    def files_changed(self, paths: list[Path]) -> None: ...

    def settings_changed(self, old: Settings, new: Settings) -> None: ...

    async def ready(self) -> None:
        """The session runs, its settings arrived and its store can be read."""

    async def settled(self, uri: str) -> None:
        """The feature's diagnostics for the document's current version are put: a pull
        (``textDocument/diagnostic``) waits for this before it answers."""

    async def shutting_down(self) -> None:
        """The editor asked the server to shut down: leave cleanly, quickly (the server waits
        at most ``SHUTDOWN_HOOKS_S`` for every feature together)."""

    async def code_actions(
        self, uri: str, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        return []

    async def resolve_code_action(self, action: types.CodeAction) -> types.CodeAction:
        return action


def _overrides(feature: Feature, hook: str) -> bool:
    return getattr(type(feature), hook) is not getattr(Feature, hook)


def listeners(ls: ShimLanguageServer, hook: str) -> list[Feature]:
    """The features that override ``hook``, found once per hook (every keystroke asks)."""
    found = ls.listening.get(hook)
    if found is None:
        found = ls.listening[hook] = [f for f in ls.features if _overrides(f, hook)]
    return found


def call_features(ls: ShimLanguageServer, hook: str, *args: Any) -> None:
    """Call ``hook`` on every feature that listens; a failure is logged and the rest go on."""
    for feature in listeners(ls, hook):
        try:
            getattr(feature, hook)(*args)
        except Exception:
            log.exception("SHIM's %s feature failed on %s", feature.name, hook)


async def gather_features(
    ls: ShimLanguageServer, hook: str, *args: Any
) -> list[tuple[Feature, Any]]:
    """Await ``hook`` on every listening feature at once: (feature, result) for each that
    did not fail; a failure is logged and the rest go on."""
    found = listeners(ls, hook)
    results = await asyncio.gather(
        *(getattr(f, hook)(*args) for f in found), return_exceptions=True
    )
    kept = []
    for feature, result in zip(found, results, strict=True):
        if isinstance(result, BaseException):
            if isinstance(result, asyncio.CancelledError):
                raise result
            log.error("SHIM's %s feature failed on %s", feature.name, hook, exc_info=result)
            continue
        kept.append((feature, result))
    return kept
