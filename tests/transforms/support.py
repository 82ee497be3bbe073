"""What every codemod test checks beyond before/after: idempotence and parseable output."""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext, CodemodTest


class ShimCodemodTest(CodemodTest):
    def check(self, before: str, after: str, **args: Any) -> None:
        """before -> after, after stays after, and after parses."""
        fresh = dict(args)
        if isinstance(args.get("context_override"), CodemodContext):
            # a context collects warnings: the second run gets its own
            fresh["context_override"] = dataclasses.replace(args["context_override"], warnings=[])
        self.assertCodemod(before, after, **args)
        self.assertCodemod(after, after, **fresh)
        ast.parse(self.make_fixture_data(after))

    def run_bytes(self, source: bytes, **args: Any) -> bytes:
        module = cst.parse_module(source)
        command = self.TRANSFORM(CodemodContext(), **args)
        return command.transform_module(module).bytes
