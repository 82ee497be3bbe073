"""Which codemods exist: SHIM's own (``transforms/``, installed as ``shim_transforms``), and
the user's.

A codemod is a libcst ``CodemodCommand`` subclass, one per module. Users add theirs by naming
modules or packages in the ``codemodModules`` setting, or in ``.libcst.codemod.yaml``
``modules:`` (the libcst CLI's file), whose submodules are searched the same way.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from libcst.codemod import CodemodCommand

log = logging.getLogger(__name__)

BUILTIN_PACKAGE = "shim_transforms"
"""SHIM's ready codemods: ``transforms/`` of the repository, installed under this name."""


@dataclass(frozen=True)
class ArgSpec:
    name: str
    type: str
    """One of: str, int, float, bool, list[str], dict[str, str]."""
    required: bool
    default: Any = None
    help: str = ""


@dataclass(frozen=True)
class CodemodInfo:
    name: str
    module: str
    cls: str
    description: str
    args: tuple[ArgSpec, ...] = field(default_factory=tuple)
    title: str | None = None
    """What an editor lists it as (the class's ``TITLE``), when it says."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "module": self.module,
            "class": self.cls,
            "description": self.description,
            "arguments": [
                {
                    "name": a.name,
                    "type": a.type,
                    "required": a.required,
                    "default": a.default,
                    "help": a.help,
                }
                for a in self.args
            ],
        }


_TYPES = {str: "str", int: "int", float: "float", bool: "bool"}


def _type_name(annotation: Any) -> str:
    if annotation in _TYPES:
        return _TYPES[annotation]
    text = str(annotation).replace("typing.", "")
    for known in ("list[str]", "dict[str, str]", "str", "int", "float", "bool"):
        if text.startswith(known) or text == known:
            return known
    return "str"


def _arg_help(cls: type[CodemodCommand]) -> dict[str, str]:
    """Help texts from the command's add_args, as the libcst CLI shows them."""
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    try:
        cls.add_args(parser)
    except Exception:  # a broken add_args only costs the help texts
        return {}
    return {a.dest: a.help or "" for a in parser._actions}


def describe(cls: type[CodemodCommand], name: str) -> CodemodInfo:
    hints = inspect.get_annotations(cls.__init__, eval_str=True)
    helps = _arg_help(cls)
    args = []
    for pname, param in inspect.signature(cls.__init__).parameters.items():
        if pname in ("self", "context") or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        required = param.default is inspect.Parameter.empty
        args.append(
            ArgSpec(
                name=pname,
                type=_type_name(hints.get(pname, str)),
                required=required,
                default=None if required else param.default,
                help=helps.get(pname, ""),
            )
        )
    doc = (cls.DESCRIPTION or inspect.getdoc(cls) or "").strip()
    title = getattr(cls, "TITLE", None)
    return CodemodInfo(
        name,
        cls.__module__,
        cls.__name__,
        doc,
        tuple(args),
        title if isinstance(title, str) else None,
    )


def _commands_in(module_name: str) -> list[type[CodemodCommand]]:
    module = importlib.import_module(module_name)
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, CodemodCommand)
        and obj.__module__ == module.__name__
        and not obj.__name__.startswith("_")  # helpers, not codemods to offer
        and not inspect.isabstract(obj)
    ]


def _modules_under(package: str) -> Iterable[str]:
    mod = importlib.import_module(package)
    if not hasattr(mod, "__path__"):
        yield package
        return
    for info in pkgutil.iter_modules(mod.__path__, prefix=f"{package}."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            yield info.name


def yaml_modules(root: Path) -> list[str]:
    """``modules:`` of a workspace's .libcst.codemod.yaml (the libcst CLI's configuration)."""
    config = root / ".libcst.codemod.yaml"
    if not config.is_file():
        return []
    import yaml  # PyYAML comes with libcst

    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    modules = data.get("modules", [])
    return [str(m) for m in modules] if isinstance(modules, list) else []


def discover(
    extra_modules: Iterable[str] = (), roots: Iterable[Path] = ()
) -> tuple[dict[str, CodemodInfo], list[str]]:
    """Every codemod by name, and the problems met (a module that fails to import, ...)."""
    found: dict[str, CodemodInfo] = {}
    problems: list[str] = []
    sources = [BUILTIN_PACKAGE, *extra_modules]
    for root in roots:
        user = yaml_modules(root)
        if user and str(root) not in sys.path:
            sys.path.insert(0, str(root))
        sources.extend(user)
    for source in sources:
        try:
            names = list(_modules_under(source))
        except Exception as exc:
            problems.append(f"cannot import codemod package {source!r}: {exc}")
            continue
        for module_name in names:
            try:
                commands = _commands_in(module_name)
            except Exception as exc:
                problems.append(f"cannot import codemod module {module_name!r}: {exc}")
                continue
            for cls in commands:
                short = module_name.rsplit(".", 1)[-1]
                name = short if source == BUILTIN_PACKAGE else f"{short}.{cls.__name__}"
                if name in found:
                    name = f"{module_name}.{cls.__name__}"
                found[name] = describe(cls, name)
    return found, problems
