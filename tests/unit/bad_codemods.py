"""Codemods that misbehave on purpose, to prove the runner contains them."""

from __future__ import annotations

import ctypes
import time
from pathlib import Path

import libcst as cst
from libcst.codemod import CodemodCommand


class CrashOnMarker(CodemodCommand):
    """Kills its own process (as a native parser crash would) on files containing CRASH."""

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        if "CRASH" in tree.code:
            ctypes.string_at(0)  # segfault
        return tree


class HangOnMarker(CodemodCommand):
    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        while "HANG" in tree.code:
            time.sleep(0.01)
        return tree


class BreakSyntax(CodemodCommand):
    """Returns a tree whose code does not parse (a bare ``def`` as an expression)."""

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        return tree.with_changes(body=[cst.SimpleStatementLine([cst.Expr(cst.Name("def"))])])


class AddComment(CodemodCommand):
    @staticmethod
    def prefilter() -> list[str]:
        return ["needle"]

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        return tree.with_changes(
            header=[*tree.header, cst.EmptyLine(comment=cst.Comment("# seen"))]
        )


class UseUndefined(CodemodCommand):
    """Writes a call to a name nothing binds, as a codemod that forgot an import would."""

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        call = cst.parse_statement("pytest.fail()\n")
        return tree.with_changes(body=[*tree.body, call])


class RenameImports(CodemodCommand):
    """Turns ``import utils`` into ``import pkg.utils`` wherever it is, leaving ``utils``
    below bound by nothing, as move_module once did inside functions."""

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        return cst.ensure_type(tree.visit(_RenameImport()), cst.Module)


class _RenameImport(cst.CSTTransformer):
    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        return updated_node.with_changes(
            names=[cst.ImportAlias(cst.Attribute(cst.Name("pkg"), cst.Name("utils")))]
        )


class SlowAddComment(CodemodCommand):
    """Takes a second per file, then changes it: a run long enough to cancel."""

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        time.sleep(1)
        return tree.with_changes(
            header=[*tree.header, cst.EmptyLine(comment=cst.Comment("# slow"))]
        )


class EditSibling(AddComment):
    """Changes every file; on a file containing SAVE, first saves a new line into the
    ``small.py`` beside it, as a user saving in an editor while the run goes on would."""

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        if "SAVE" in tree.code and self.context.filename:
            sibling = Path(self.context.filename).with_name("small.py")
            with sibling.open("a") as handle:
                handle.write("saved_by_the_user = 1\n")
        return super().transform_module_impl(tree)


class EditSiblingTogether(EditSibling):
    """The same, for a codemod whose changes go together (as a rename's do)."""

    CHANGES_GO_TOGETHER = True


class AddCommentTogether(AddComment):
    CHANGES_GO_TOGETHER = True
