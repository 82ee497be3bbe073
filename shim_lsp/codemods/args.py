"""A codemod's arguments checked against what its constructor declares.

The same rules for every face; each face words the error for its caller (the CLI names
``--arg``, the editor the keys of the ``args`` object), so the error is a value, not a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from shim_lsp.codemods.registry import ArgSpec, CodemodInfo
from shim_lsp.wire import is_text

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class CodemodArgError(ValueError):
    """What is wrong with a codemod's arguments: ``problem`` is ``unknown`` (``names`` are not
    arguments of it), ``missing`` (required ones not given) or ``value`` (``names[0]``'s value
    does not fit; ``detail`` says how)."""

    def __init__(
        self,
        info: CodemodInfo,
        problem: Literal["unknown", "missing", "value"],
        names: list[str],
        detail: str = "",
    ) -> None:
        self.info, self.problem, self.names, self.detail = info, problem, names, detail
        super().__init__(f"{info.name}: {problem} argument {', '.join(names)} {detail}".strip())

    @property
    def known(self) -> str:
        return ", ".join(a.name for a in self.info.args) or "none"


def _from_text(spec: ArgSpec, text: str, info: CodemodInfo) -> Any:
    if spec.type == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise CodemodArgError(info, "value", [spec.name], f"expected true or false, got {text!r}")
    if spec.type in ("int", "float"):
        try:
            return int(text) if spec.type == "int" else float(text)
        except ValueError as exc:
            raise CodemodArgError(
                info, "value", [spec.name], f"expected a number, got {text!r}"
            ) from exc
    return text


def _typed(spec: ArgSpec, value: Any, info: CodemodInfo) -> Any:
    """A value from JSON must already have its type: "3" is not a number, 1 not a boolean."""
    expected: dict[str, tuple[type, ...]] = {
        "bool": (bool,),
        "int": (int,),
        "float": (int, float),
        "str": (str,),
        "list[str]": (list,),
        "dict[str, str]": (dict,),
    }
    kinds = expected.get(spec.type)
    wrong_bool = isinstance(value, bool) and spec.type in ("int", "float")
    if kinds is not None and (wrong_bool or not isinstance(value, kinds)):
        raise CodemodArgError(
            info, "value", [spec.name], f"expected {spec.type}, got {type(value).__name__}"
        )
    return value


def check_args(
    info: CodemodInfo,
    values: Mapping[str, Any],
    *,
    from_text: bool = False,
    root: Path | None = None,
) -> dict[str, Any]:
    """The keyword arguments for ``info``'s codemod; ``from_text`` converts strings typed on a
    command line ("3", "yes") to the declared types; with the project's ``root``, values the
    project itself rules out too (a module moved onto one that exists)."""
    specs = {a.name: a for a in info.args}
    unknown = [k for k in values if k not in specs]
    if unknown:
        raise CodemodArgError(info, "unknown", unknown)
    for k, v in values.items():
        if isinstance(v, str) and not is_text(v):
            raise CodemodArgError(
                info, "value", [k], "expected text, got a lone surrogate or a NUL character"
            )
    args = {
        k: _from_text(specs[k], v, info) if from_text else _typed(specs[k], v, info)
        for k, v in values.items()
    }
    missing = [a.name for a in info.args if a.required and a.name not in args]
    if missing:
        raise CodemodArgError(info, "missing", missing)
    _construct(info, args, root)
    return args


def _construct(info: CodemodInfo, args: dict[str, Any], root: Path | None) -> None:
    """Values of the right type the codemod itself refuses (an unqualified name, an unknown
    logging level), or that the project rules out (its ``check_project(root, **args)``):
    refused before any file is read, as an argument error, not as every file failing."""
    from libcst.codemod import CodemodContext

    from shim_lsp.codemods.modules import begin_run
    from shim_lsp.codemods.runner import load

    begin_run()  # the project as it is now, not as an earlier run found it
    codemod = load(info.module, info.cls)
    try:
        codemod(CodemodContext(), **args)
        check_project = getattr(codemod, "check_project", None)
        if root is not None and check_project is not None:
            check_project(root, **args)
    except (ValueError, TypeError) as exc:
        raise CodemodArgError(info, "value", [], str(exc)) from exc
