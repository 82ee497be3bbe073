"""Names a module reads but never binds: the check that a codemod introduced none.

A transform that writes ``logger.info`` without defining ``logger``, or ``pytest.raises``
without importing ``pytest``, still parses; it fails only when that line runs. Comparing
the unbound names before and after a change catches it (pyflakes' F821, from libcst's own
scope analysis, which the worker has loaded already).
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, ScopeProvider


def unbound_names(module: cst.Module) -> set[str] | None:
    """Names read with no binding in reach; None when a star import makes that unknowable."""
    if m.findall(module, m.ImportFrom(names=m.ImportStar())):
        return None
    scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    unbound: set[str] = set()
    for scope in {s for s in scopes.values() if s is not None}:
        for access in scope.accesses:
            if not access.referents and isinstance(access.node, cst.Name):
                unbound.add(access.node.value)
    return unbound


def introduced_unbound(before: cst.Module, after: cst.Module) -> set[str]:
    """Names unbound in ``after`` that were not unbound in ``before``."""
    old, new = unbound_names(before), unbound_names(after)
    if old is None or new is None:
        return set()
    return new - old
