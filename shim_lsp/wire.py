"""camelCase on the wire, snake_case in Python, for every attrs class SHIM exchanges."""

from __future__ import annotations

import math
import re
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.cols import is_sequence, list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

T = TypeVar("T")
_CAMEL = re.compile(r"_([a-z])")
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
"""What SQLite and every JSON client hold: a wider integer is an error, not a crash later."""


def to_camel(name: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def _renames(cl: type[Any]) -> dict[str, Any]:
    return {f.name: override(rename=to_camel(f.name)) for f in attrs.fields(cl)}


def _exact(kind: type[Any], accepts: tuple[type[Any], ...]) -> Any:
    """cattrs would turn 42 into "42" and "yes" into True; values on the wire must fit as is."""

    def structure(value: Any, _type: Any) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {kind.__name__}, got a boolean")
        if not isinstance(value, accepts):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise TypeError(f"expected a finite {kind.__name__}")
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise TypeError("expected a whole number")
        if kind is int and not INT_MIN <= value <= INT_MAX:
            raise TypeError(f"expected an integer between {INT_MIN} and {INT_MAX}")
        if kind is str and not is_text(value):
            raise TypeError("expected text, got a lone surrogate or a NUL character")
        return kind(value)

    return structure


def is_text(value: str) -> bool:
    """Text a file name, a URI or the store can hold: no lone surrogate, no NUL."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MESSAGE_MAX = 300
"""An error quotes at most this much of what the caller sent: a 5 MB argument must not
come back as a 5 MB error (nor be written to the log)."""


def bounded(text: str, limit: int = MESSAGE_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _list_only(type_: Any, conv: cattrs.BaseConverter) -> Any:
    """cattrs takes any iterable as a list, so "abc" would become ["a", "b", "c"]."""
    items = list_structure_factory(type_, conv)

    def structure(value: Any, _type: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return items(value, _type)

    return structure


ProgressToken = str | int
"""LSP's progress token: a string or an integer, kept as the client sent it."""


def _token(value: Any, _type: Any) -> ProgressToken | None:
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    raise TypeError(f"expected a progress token (string or integer), got {type(value).__name__}")


def make_converter(*, forbid_extra_keys: bool) -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=forbid_extra_keys)
    conv.register_structure_hook(str, _exact(str, (str,)))
    conv.register_structure_hook(bool, _exact(bool, (bool,)))
    conv.register_structure_hook(int, _exact(int, (int, float)))
    conv.register_structure_hook(float, _exact(float, (int, float)))
    conv.register_structure_hook(ProgressToken | None, _token)
    conv.register_structure_hook_factory(is_sequence, lambda t: _list_only(t, conv))
    conv.register_structure_hook_factory(
        attrs.has,
        lambda cl: make_dict_structure_fn(
            cl, conv, _cattrs_forbid_extra_keys=forbid_extra_keys, **_renames(cl)
        ),
    )
    conv.register_unstructure_hook_factory(
        attrs.has, lambda cl: make_dict_unstructure_fn(cl, conv, **_renames(cl))
    )
    return conv


strict = make_converter(forbid_extra_keys=True)


class ArgumentError(ValueError):
    """Command arguments that do not fit: the message says what was expected."""


def structure_args(cls: type[T], args: tuple[Any, ...] | list[Any]) -> T:
    """The first command argument as ``cls`` (an empty call gives the defaults)."""
    raw: Any = args[0] if args else {}
    if raw is None:
        raw = {}
    if len(args) > 1 or not isinstance(raw, dict):
        got = f"{len(args)} arguments" if len(args) > 1 else f"a {_json_kind(raw)}"
        raise ArgumentError(f"expected one object argument like {_example(cls)}, got {got}")
    try:
        return strict.structure(raw, cls)
    except Exception as exc:
        detail = (
            "; ".join(_json_path(m) for m in cattrs.transform_error(exc, format_exception=_why))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise ArgumentError(bounded(f"invalid arguments: {detail}")) from exc


_PATH = re.compile(r"( @ \$)(\S*)$")


def _json_path(message: str) -> str:
    """cattrs names the place of an error by Python attribute; the caller sent camelCase."""
    return _PATH.sub(
        lambda m: m.group(1) + re.sub(r"\.(\w+)", lambda k: "." + to_camel(k.group(1)), m.group(2)),
        message,
    )


def at_least(low: int) -> Any:
    """An attrs validator worded with the argument's wire name."""

    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value < low:
            raise ValueError(f"{to_camel(attribute.name)} must be at least {low}, got {value}")

    return check


UINTEGER_MAX = 2**31 - 1
"""LSP's ``uinteger``: the largest line or column a position holds."""


def lsp_line(_instance: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    """An attrs validator: a 0-based line an LSP position can hold (none allowed)."""
    if value is not None and not 0 <= value <= UINTEGER_MAX:
        raise ValueError(
            f"{to_camel(attribute.name)} must be a line number from 0 to {UINTEGER_MAX},"
            f" got {value}"
        )


def _why(exc: BaseException, type_: Any) -> str:
    """Say what was wrong with a value, as SHIM's own hooks and validators word it."""
    if isinstance(exc, TypeError | ValueError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return cattrs.v.format_exception(exc, type_)


def _json_kind(value: Any) -> str:
    kinds = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}
    return kinds.get(type(value), type(value).__name__)


def _example(cls: type[Any]) -> str:
    return "{" + ", ".join(f'"{to_camel(f.name)}": ...' for f in attrs.fields(cls)) + "}"
