"""A codemod's result restricted to a selection, with the module-level edits it needs.

The selection keeps the changes that touch it; a change elsewhere is added only when it
binds, at module level, a name that the kept changes read and nothing else binds (the
``import pytest`` of a converted ``assertRaises``, the ``logger = ...`` line of a converted
print, and then that line's ``import logging``). If names stay unbound, there is no safe
partial result. A changed line that binds a name (``with ... as cm``, ``x = ...``) and the
lines that read that binding go together: the change may alter what the name holds
(``assertRaises`` to ``pytest.raises``, whose ``cm.exception`` becomes ``cm.value``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import (
    Assignment,
    ImportAssignment,
    MetadataWrapper,
    PositionProvider,
    ScopeProvider,
)

from shim_lsp.codemods.names import unbound_names
from shim_lsp.textlines import split_lines

Position = tuple[int, int]
"""(line, character), 0-based."""


@dataclass(frozen=True)
class Restricted:
    text: str | None
    """The old text with the selected changes applied; None when none can be applied safely."""
    unbound: frozenset[str] = frozenset()
    """Names the selected changes read that no change binds (when ``text`` is None)."""


def _parse(text: str) -> cst.Module | None:
    try:
        return cst.parse_module(text)
    except Exception:  # the native parser raises several kinds
        return None


def _binds(text: str) -> set[str]:
    """Names that ``text``, read as module-level statements, binds."""
    module = _parse(text)
    if module is None:
        return set()
    names: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            names.add(stmt.name.value)
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
                small.names, cst.ImportStar
            ):
                for alias in small.names:
                    names.add((alias.evaluated_alias or alias.evaluated_name).split(".")[0])
            elif isinstance(small, cst.Assign):
                names.update(
                    t.target.value for t in small.targets if isinstance(t.target, cst.Name)
                )
            elif isinstance(small, cst.AnnAssign | cst.AugAssign) and isinstance(
                small.target, cst.Name
            ):
                names.add(small.target.value)
    return names


def restrict(old: str, new: str, start: Position, end: Position) -> Restricted:
    """``new`` where it differs from ``old`` on the lines of [start, end) (a selection's
    range, or one line for an empty one), plus the changes elsewhere that it needs."""
    old_lines = split_lines(old)
    new_lines = split_lines(new)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    changes: list[tuple[str, int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:  # line for line: each its own change
            changes.extend((tag, i1 + k, i1 + k + 1, j1 + k, j1 + k + 1) for k in range(i2 - i1))
        elif tag == "replace" and (
            pairs := _statement_pairs(old_lines[i1:i2], new_lines[j1:j2])
        ):  # statement for statement (a call over three lines became one line)
            changes.extend((tag, i1 + a1, i1 + a2, j1 + b1, j1 + b2) for a1, a2, b1, b2 in pairs)
        elif tag != "equal":
            changes.append((tag, i1, i2, j1, j2))

    first = start[0]
    last = end[0] - 1 if end[1] == 0 and end[0] > start[0] else end[0]

    def touches(i1: int, i2: int) -> bool:
        """Lines i1..i2-1 replaced (or an insertion before i1) meet lines first..last."""
        return i1 <= last and max(i2 - 1, i1) >= first

    chosen = {k for k, (_tag, i1, i2, _j1, _j2) in enumerate(changes) if touches(i1, i2)}
    if not chosen:
        return Restricted(old)
    linked = _linked(old, [set(range(i1, i2)) for _tag, i1, i2, _j1, _j2 in changes])
    chosen = _with_linked(chosen, linked)
    texts = ["".join(new_lines[j1:j2]) for _tag, _i1, _i2, j1, j2 in changes]
    baseline = _unbound(old)
    if baseline is None:  # a star import: what it binds is unknown, so bring every binding
        chosen |= {k for k, text in enumerate(texts) if _binds(text)}
    while True:
        text = _apply(old_lines, new_lines, [changes[k] for k in sorted(chosen)])
        module = _parse(text)
        if module is None:
            return Restricted(None)
        if baseline is None:
            return Restricted(text)
        missing = (unbound_names(module) or set()) - baseline
        if not missing:
            return Restricted(text)
        more = {k for k, t in enumerate(texts) if k not in chosen and _binds(t) & missing}
        if not more:
            return Restricted(None, frozenset(missing))
        chosen = _with_linked(chosen | more, linked)


_STRING = re.compile(r"'[^'\\n]*'|\"[^\"\\n]*\"")


def _statements(lines: list[str]) -> list[int] | None:
    """Where each statement of a block of lines starts (a line at the block's least
    indentation, outside brackets; blank and comment lines belong to the one before);
    None when the lines do not read as whole statements of one block."""
    code = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    if not code:
        return None
    indent = min(len(lines[i]) - len(lines[i].lstrip()) for i in code)
    starts: list[int] = []
    depth = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if depth == 0 and i in code and len(line) - len(line.lstrip()) == indent:
            starts.append(i)
        if stripped.startswith("#"):
            continue
        bare = _STRING.sub("", line).split("#")[0]
        depth += sum(bare.count(c) for c in "([{") - sum(bare.count(c) for c in ")]}")
        if depth < 0:
            return None
    if depth != 0 or not starts or starts[0] != code[0]:
        return None
    return starts


def _statement_pairs(old: list[str], new: list[str]) -> list[tuple[int, int, int, int]]:
    """A block of old lines and the block that replaced it, paired statement by statement
    when both hold as many (each as (old start, old end, new start, new end)); else []."""
    a, b = _statements(old), _statements(new)
    if a is None or b is None or len(a) != len(b) or len(a) < 2 or a[0] != 0 or b[0] != 0:
        return []
    a_ends, b_ends = [*a[1:], len(old)], [*b[1:], len(new)]
    return list(zip(a, a_ends, b, b_ends, strict=True))


def _linked(old: str, changed: list[set[int]]) -> list[set[int]]:
    """For each binding (not an import, a def or a parameter) whose line a change touches:
    the changes that touch its line or a line that reads it, by index."""
    if not _may_link(old.splitlines(), changed):
        return []  # scope analysis costs about a second on a 2,000-line file
    module = _parse(old)
    if module is None:
        return []
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    scopes = {s for s in wrapper.resolve(ScopeProvider).values() if s is not None}
    groups: list[set[int]] = []
    for scope in scopes:
        for assignment in scope.assignments:
            if not isinstance(assignment, Assignment) or isinstance(assignment, ImportAssignment):
                continue
            if not isinstance(assignment.node, cst.Name) or not assignment.references:
                continue
            line = positions[assignment.node].start.line - 1
            if not any(line in lines for lines in changed):
                continue
            reads = {positions[r.node].start.line - 1 for r in assignment.references}
            group = {k for k, lines in enumerate(changed) if lines & (reads | {line})}
            if len(group) > 1:
                groups.append(group)
    return groups


_ASSIGNED = re.compile(r"^([^=]*?)(?<![=!<>:])=(?!=)")
_AS = re.compile(r"\bas\s+([A-Za-z_]\w*)")
_FOR = re.compile(r"\bfor\b(.*?)\bin\b")
_WALRUS = re.compile(r"([A-Za-z_]\w*)\s*:=")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _bound_on(line: str) -> set[str]:
    """The names a line may bind, read as text (generous: a scope analysis decides)."""
    names = set(_AS.findall(line)) | set(_WALRUS.findall(line))
    for found in (_ASSIGNED.search(line), *_FOR.finditer(line)):
        if found is not None:
            names |= set(_IDENTIFIER.findall(found.group(1)))
    return names


def _may_link(lines: list[str], changed: list[set[int]]) -> bool:
    """A cheap look before the scope analysis: a changed line that may bind a name, and
    another change whose lines mention it."""
    names = {
        n for touched in changed for i in touched if i < len(lines) for n in _bound_on(lines[i])
    }
    if not names:
        return False
    mentions = 0
    for touched in changed:
        if any(i < len(lines) and names & set(_IDENTIFIER.findall(lines[i])) for i in touched):
            mentions += 1
    return mentions > 1


def _with_linked(chosen: set[int], linked: list[set[int]]) -> set[int]:
    """``chosen`` plus every group of linked changes that one of them belongs to."""
    while True:
        more = set().union(*(g for g in linked if g & chosen and not g <= chosen))
        if not more:
            return chosen
        chosen = chosen | more


def _unbound(text: str) -> set[str] | None:
    module = _parse(text)
    return None if module is None else unbound_names(module)


def _apply(
    old_lines: list[str], new_lines: list[str], ops: list[tuple[str, int, int, int, int]]
) -> str:
    out: list[str] = []
    at = 0
    for _tag, i1, i2, j1, j2 in ops:
        out.extend(old_lines[at:i1])
        out.extend(new_lines[j1:j2])
        at = i2
    out.extend(old_lines[at:])
    return "".join(out)
