"""Building the server: its features, and each LSP method registered once and fanned out.

Adding a capability means adding a ``Feature`` class to ``FEATURES``: its commands, code
actions and event hooks are wired here; nothing else in the server changes.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams

from shim_lsp.server import lifecycle
from shim_lsp.server.analysis import AnalysisFeature
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.server.codemods import CodemodsFeature
from shim_lsp.server.coordination import CoordinationFeature
from shim_lsp.server.duplicates import DuplicatesFeature
from shim_lsp.server.edits import GuardedEditsFeature
from shim_lsp.server.feature import CommandSpec, Feature, call_features, gather_features
from shim_lsp.server.history import HistoryFeature
from shim_lsp.server.recovery import RecoveryFeature
from shim_lsp.server.session import SessionFeature
from shim_lsp.server.typecheck import TypeCheckFeature
from shim_lsp.server.workspace_analysis import WorkspaceAnalysisFeature
from shim_lsp.wire import ArgumentError, bounded, structure_args
from shim_lsp.workspace.paths import uri_to_path

log = logging.getLogger(__name__)

FEATURES: tuple[type[Feature], ...] = (
    SessionFeature,
    RecoveryFeature,
    HistoryFeature,
    CodemodsFeature,
    AnalysisFeature,
    DuplicatesFeature,
    TypeCheckFeature,
    WorkspaceAnalysisFeature,
    CoordinationFeature,
    GuardedEditsFeature,
)
"""Every capability, in the order its listeners are called."""

EXPECTED = (OSError, ValueError, LookupError)
"""Failures that are the user's or the disk's, answered as errors; others are bugs, logged."""


def command_specs() -> list[CommandSpec]:
    """Every command the server executes: what ``initialize`` announces and what the
    extension's list of server commands must equal."""
    return [spec for feature in FEATURES for spec, _method in feature.commands()]


def create_server() -> ShimLanguageServer:
    server = ShimLanguageServer()
    server.features = [feature(server) for feature in FEATURES]
    server.progress_commands = frozenset(s.id for s in command_specs() if s.progress)
    lifecycle.register(server)
    _register_documents(server)
    _register_code_actions(server)
    _register_pull_diagnostics(server)
    for feature in server.features:
        for spec, method in feature.commands():
            _register_command(server, spec, getattr(feature, method))
    return server


def _register_documents(server: ShimLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ShimLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        call_features(ls, "document_opened", ls.canonical(params.text_document.uri), params)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ShimLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        call_features(ls, "document_changed", ls.canonical(params.text_document.uri), params)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ShimLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        call_features(ls, "document_saved", ls.canonical(params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ShimLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        call_features(ls, "document_closed", ls.canonical(params.text_document.uri))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: ShimLanguageServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        paths = [uri_to_path(c.uri) for c in params.changes]
        call_features(ls, "files_changed", [p for p in paths if p is not None])


def _register_code_actions(server: ShimLanguageServer) -> None:
    kinds = list(dict.fromkeys(kind for f in server.features for kind in f.code_action_kinds))
    if not kinds:
        return
    owners = {f.name: f for f in server.features if f.code_action_kinds}

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=kinds, resolve_provider=True),
    )
    async def code_action(
        ls: ShimLanguageServer, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        uri = ls.canonical(params.text_document.uri)
        actions = []
        for feature, offered in await gather_features(ls, "code_actions", uri, params):
            for action in offered:  # resolve goes back to the feature that offered it
                action.data = {**(action.data or {}), "feature": feature.name}
                actions.append(action)
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: ShimLanguageServer, action: types.CodeAction) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        feature = owners.get(str(data.get("feature")))
        if feature is None:
            return action
        try:
            return await feature.resolve_code_action(action)
        except Exception:
            log.exception("SHIM's %s feature failed to resolve %r", feature.name, action.title)
            return action


def _register_pull_diagnostics(server: ShimLanguageServer) -> None:
    """Pull diagnostics, answered from the same lists that are pushed (``diagnostics.py``
    says which clients get which); ``diagnosticProvider`` is announced from these."""

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="shim", inter_file_dependencies=False, workspace_diagnostics=True
        ),
    )
    async def document_diagnostic(
        ls: ShimLanguageServer, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        uri = ls.canonical(params.text_document.uri)
        await gather_features(ls, "settled", uri)
        return ls.diagnostics.report(uri, params.previous_result_id)

    @server.feature(types.WORKSPACE_DIAGNOSTIC)
    async def workspace_diagnostic(
        ls: ShimLanguageServer, params: types.WorkspaceDiagnosticParams
    ) -> types.WorkspaceDiagnosticReport:
        return await ls.diagnostics.workspace_report(params.previous_result_ids)


def _register_command(server: ShimLanguageServer, spec: CommandSpec, handler: Any) -> None:
    """Structure the one argument object, require a session, word errors for the editor
    (JSON argument names), and log what is a bug."""

    def prepare(ls: ShimLanguageServer, args: Any) -> Any:
        try:
            parsed = _canonical_uris(ls, structure_args(spec.args, args))
        except ArgumentError as exc:
            raise JsonRpcInvalidParams(bounded(f"{spec.id}: {exc}")) from exc
        if ls.engine is None:
            raise JsonRpcInternalError(f"{spec.id}: SHIM has no session yet (not initialized)")
        return parsed

    def failed(exc: Exception) -> Exception:
        # What the arguments name but is not there is the caller's mistake (invalid params);
        # a disk or store failure is an internal error, logged.
        if isinstance(exc, LookupError | JsonRpcInvalidParams):
            said = str(exc.message if isinstance(exc, JsonRpcInvalidParams) else exc)
            if not said.startswith(f"{spec.id}: "):
                said = f"{spec.id}: {said}"
            return JsonRpcInvalidParams(bounded(said))
        log.exception("%s failed", spec.id)
        return JsonRpcInternalError(bounded(f"{spec.id}: {exc}"))

    # No functools.wraps: pygls reads the handler's signature to structure arguments.
    if spec.quick:

        def quick(ls: ShimLanguageServer, *args: Any) -> Any:
            parsed = prepare(ls, args)
            try:
                return handler(ls.engine, parsed)
            except (*EXPECTED, JsonRpcInvalidParams) as exc:
                raise failed(exc) from exc

        server.command(spec.id)(quick)
    else:

        async def slow(ls: ShimLanguageServer, *args: Any) -> Any:
            parsed = prepare(ls, args)
            await ls.settings_known.wait()  # which files are secret comes with the settings
            try:
                return await handler(ls.engine, parsed)
            except (*EXPECTED, JsonRpcInvalidParams) as exc:
                raise failed(exc) from exc

        server.command(spec.id)(slow)


def _canonical_uris(ls: ShimLanguageServer, args: Any) -> Any:
    """URIs in arguments get SHIM's one spelling, as document events do."""
    changes: dict[str, Any] = {}
    uri = getattr(args, "uri", None)
    if isinstance(uri, str):
        changes["uri"] = ls.canonical(uri)
    uris = getattr(args, "uris", None)
    if isinstance(uris, list):
        changes["uris"] = [ls.canonical(u) for u in uris]
    return attrs.evolve(args, **changes) if changes else args
