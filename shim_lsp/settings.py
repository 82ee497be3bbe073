"""SHIM's settings: one typed class, camelCase on the wire, validated key by key.

A bad value never stops the server: it is reported and replaced by its default, the way
jedi-language-server treats its initialization options.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import attrs
import cattrs

from shim_lsp.analysis.ruff_command import COMPLEXITY_THRESHOLD, COMPLEXITY_THRESHOLD_MAX
from shim_lsp.wire import make_converter, to_camel
from shim_lsp.workspace.defaults import DEFAULT_SECRET_GLOBS, default_state_dir

SECTION = "shim"
REDIS_URL_ENV = "SHIM_REDIS_URL"


@attrs.frozen
class _Bounds:
    """A number's allowed range, as a validator: above 0 (``exclusive``) or 0 or more, up to
    ``maximum``, finite. The editor's schema says the same (see ``settings_schema``), so that
    an absurd value (1e308, Infinity, NaN) falls back to the default instead of, say, never
    taking an idle checkpoint again."""

    maximum: float
    exclusive: bool = True
    minimum: float = 0.0
    """A floor above 0, inclusive (then ``exclusive`` does not apply)."""

    def __call__(self, _inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
        low = "greater than 0" if self.exclusive else "0 or more"
        if self.minimum > 0:
            low = f"at least {_shown(self.minimum)}"
        if (
            not math.isfinite(value)
            or value < self.minimum
            or value < 0
            or (self.exclusive and self.minimum <= 0 and value == 0)
            or value > self.maximum
        ):
            raise ValueError(f"it must be {low} and at most {_shown(self.maximum)}")


def _positive(maximum: float) -> _Bounds:
    return _Bounds(maximum)


def _non_negative(maximum: float) -> _Bounds:
    return _Bounds(maximum, exclusive=False)


RULE_SELECTOR = "^(ALL|[A-Z]+[0-9]*)$"
"""A ruff rule selector: ALL, a linter's letters, or letters and digits (F, E4, PLR0913)."""


@attrs.frozen
class _RuleSelectors:
    """Each item is a ruff rule selector: anything else would reach ruff's command line."""

    def __call__(self, _inst: object, _attribute: attrs.Attribute[Any], value: list[str]) -> None:
        bad = [v for v in value if not re.fullmatch(RULE_SELECTOR, v)]
        if bad:
            raise ValueError(f"{_shown(bad)} are not ruff rule selectors (F, E4, PLR0913, ALL)")


@attrs.frozen
class _OneOf:
    """The value is one of ``choices`` (the editor's schema lists them as an ``enum``)."""

    choices: tuple[str, ...]

    def __call__(self, _inst: object, _attribute: attrs.Attribute[Any], value: str) -> None:
        if value not in self.choices:
            raise ValueError(f"it must be one of {', '.join(map(_shown, self.choices))}")


TYPE_CHECKERS = ("mypy",)

_DAY = 86_400.0
COORDINATION_TTL_MIN = 1.0
"""Below a second, a heartbeat every third of it would keep Redis (and the machine) busy and a
member that pauses for a garbage collection would fall out of its group."""
_TIB_IN_MB = 1024.0 * 1024


@attrs.define(frozen=True)
class Settings:
    """Everything a user can tune. Each field's docstring is its user-facing description."""

    state_dir: str | None = None
    """Folder of SHIM's store. Default: $SHIM_STATE_DIR, else the user's state directory."""

    auto_checkpoint: bool = True
    """Take checkpoints automatically (on an interval and after an idle pause)."""

    metrics: bool = True
    """Record Prometheus metrics in the state folder (a memory-mapped file per window; nothing
    listens unless `shim metrics serve` is run)."""

    checkpoint_interval: float = attrs.field(default=300.0, validator=_positive(_DAY))
    """Seconds between automatic checkpoints while anything changed."""

    idle_checkpoint_delay: float = attrs.field(default=30.0, validator=_positive(_DAY))
    """Seconds of no typing, with unsaved changes, before an automatic checkpoint."""

    flush_interval: float = attrs.field(default=0.2, validator=_positive(60.0))
    """Seconds between synced journal commits: at most this much typing is lost on a power cut
    (each change is committed within milliseconds, so a killed process loses only those)."""

    heartbeat_interval: float = attrs.field(default=5.0, validator=_positive(3600.0))
    """Seconds between session heartbeats written to the store."""

    client_watch_interval: float = attrs.field(default=1.0, validator=_positive(3600.0))
    """Seconds between checks that the editor process is still alive."""

    full_scan_interval: float = attrs.field(default=900.0, validator=_positive(7 * _DAY))
    """Seconds between full re-scans of the workspace (a safety net for missed file events)."""

    max_file_size: int = attrs.field(
        default=2 * 1024 * 1024, validator=_positive(1024 * 1024 * 1024)
    )
    """Files larger than this many bytes are left out of checkpoints."""

    exclude_globs: list[str] = attrs.field(factory=list)
    """Extra gitignore-style patterns left out of checkpoints."""

    secret_globs: list[str] = attrs.field(factory=list)
    """Extra patterns of secret files, added to the built-in ones (.env, *.pem, id_rsa*, ...):
    never stored, not even as unsaved buffers. A "!pattern" line takes a built-in one back."""

    respect_gitignore: bool = True
    """Leave out what .gitignore files ignore."""

    keep_all_minutes: float = attrs.field(default=60.0, validator=_non_negative(366 * 24 * 60.0))
    """Keep every checkpoint this recent."""

    keep_hourly_hours: float = attrs.field(default=24.0, validator=_non_negative(366 * 24.0))
    """Then keep one checkpoint an hour for this many hours."""

    keep_daily_days: float = attrs.field(default=7.0, validator=_non_negative(10 * 366.0))
    """Then keep one checkpoint a day for this many days."""

    max_store_mb: float = attrs.field(default=1024.0, validator=_positive(_TIB_IN_MB))
    """Total size cap of the store; the oldest unnamed checkpoints go first."""

    risk_unsaved_kb: float = attrs.field(default=256.0, validator=_positive(1024.0 * 1024))
    """Unsaved text (KiB) at which the risk of losing work counts as high."""

    risk_unsaved_age_minutes: float = attrs.field(default=30.0, validator=_positive(7 * 24 * 60.0))
    """Age of the oldest unsaved change at which risk counts as high."""

    risk_memory_mb: float = attrs.field(default=1024.0, validator=_positive(_TIB_IN_MB))
    """Server memory (RSS, MiB) at which risk counts as high."""

    risk_disk_free_mb: float = attrs.field(default=200.0, validator=_positive(_TIB_IN_MB))
    """Free space under the store (MiB) below which risk counts as high."""

    codemod_modules: list[str] = attrs.field(factory=list)
    """Extra modules or packages holding libcst CodemodCommands to offer."""

    codemod_jobs: int = attrs.field(default=0, validator=_non_negative(256))
    """Worker processes for workspace codemod runs (0: one per CPU)."""

    codemod_timeout: float = attrs.field(default=30.0, validator=_positive(3600.0))
    """Seconds a codemod may spend on one file of up to 2,000 lines and 100 KB (a longer or
    larger file gets more in proportion) before it is stopped and reported."""

    ruff_enabled: bool = True
    """Lint open Python buffers with ruff: diagnostics, quick fixes, fix all, organise imports."""

    ruff_path: str | None = None
    """The ruff executable to run. Default: the ruff installed with SHIM."""

    ruff_select: list[str] = attrs.field(factory=list, validator=_RuleSelectors())
    """Ruff rules to check instead of the project's selection (ruff's --select). Empty: the
    project's ruff configuration decides."""

    ruff_ignore: list[str] = attrs.field(factory=list, validator=_RuleSelectors())
    """Ruff rules never reported, on top of the project's ruff configuration (ruff's --ignore)."""

    ruff_unsafe_fixes: bool = False
    """Offer ruff's unsafe fixes too (they may change what the code does)."""

    ruff_debounce: float = attrs.field(default=0.1, validator=_non_negative(60.0))
    """Seconds after the last change to a buffer before ruff checks it again."""

    duplicates_enabled: bool = False
    """Look for duplicate code across the workspace (jscpd) when the server starts and again
    after each save. Off: only when asked (command shim.findDuplicates), a run of seconds on a
    large tree."""

    duplicates_min_lines: int = attrs.field(default=6, validator=_positive(10_000))
    """Lines a block must span to count as duplicate code."""

    duplicates_node: str | None = None
    """The Node.js executable that runs jscpd. Default: the editor's own (VS Code), else node
    on PATH."""

    duplicates_jscpd: str | None = None
    """jscpd's package folder or its jscpd executable. Default: the jscpd bundled with the
    VS Code extension, else jscpd on PATH."""

    complexity_enabled: bool = True
    """Report functions whose cyclomatic complexity is over complexityThreshold (ruff's C901),
    as information."""

    complexity_threshold: int = attrs.field(
        default=COMPLEXITY_THRESHOLD, validator=_positive(COMPLEXITY_THRESHOLD_MAX)
    )
    """Cyclomatic complexity above which a function is reported. It wins over the project's
    lint.mccabe.max-complexity; turn complexityEnabled off to keep the project's."""

    type_check_enabled: bool = False
    """Type-check saved Python files with mypy's daemon (one per workspace folder, started
    when first needed), honouring the project's mypy configuration; findings show as
    diagnostics."""

    type_checker: str = attrs.field(default="mypy", validator=_OneOf(TYPE_CHECKERS))
    """The type checker that typeCheckEnabled runs (mypy, through its daemon dmypy)."""

    type_checker_path: str | None = None
    """The type checker's daemon executable (mypy: dmypy); best the project's own, so that
    mypy sees its packages and plugins. Default: dmypy on PATH, else beside SHIM's Python."""

    redis_url: str | None = None
    """Redis that joins the windows of a workspace into one group (redis://, rediss:// for
    TLS, unix://; a password and ACL user go in the URL). Default: $SHIM_REDIS_URL, else none:
    each window works alone."""

    redis_ca_file: str | None = None
    """PEM file of the certificate authority that signed a rediss:// server's certificate
    (a private CA); default: the system's. A certificate it does not vouch for is refused."""

    redis_key_prefix: str = "shim"
    """Prefix of every Redis key and channel SHIM uses, so that several teams share one Redis."""

    workspace_id: str | None = None
    """This workspace's identity in the group, the same in every window and machine that
    works on it. Default: the git remote plus the path inside the repository, else the folder's
    absolute path."""

    publish_unsaved_text: bool = False
    """Publish the text of unsaved buffers to the group (never of secret files); off: only
    which files are unsaved, and since when."""

    coordination_ttl: float = attrs.field(
        default=15.0, validator=_Bounds(3600.0, minimum=COORDINATION_TTL_MIN)
    )
    """Seconds after which a window that stopped answering leaves the group (its heartbeat
    goes every third of this), and the leader's lease (renewed every third of this)."""

    codemod_batch_workers: int = attrs.field(default=1, validator=_non_negative(64))
    """With Redis: batches of the group's workspace codemod runs this window works at once,
    each over its codemod worker processes (0: it asks the group, but works none)."""


attrs.resolve_types(Settings)

converter = make_converter(forbid_extra_keys=False)
_FIELDS = {to_camel(f.name): f for f in attrs.fields(Settings)}


def secret_patterns(settings: Settings) -> list[str]:
    """The built-in secret patterns, then the user's, which can only add (or "!" take back)."""
    return [*DEFAULT_SECRET_GLOBS, *settings.secret_globs]


def wire_names() -> list[str]:
    """The camelCase keys, as the editor client's configuration must name them."""
    return list(_FIELDS)


_KINDS: dict[object, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    list[str]: "a list of strings",
    str | None: "a string or null",
}


def _shown(value: object) -> str:
    """A value as the user wrote it in JSON (``null``, ``true``), not as Python shows it."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)  # 1e308 stays 1e+308, not 309 digits
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _whole(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and float(value).is_integer()
    )


def _default(field: attrs.Attribute[Any]) -> object:
    return getattr(Settings(), field.name)


_KEPT_ALONE = frozenset({"secret_globs"})
"""List settings whose value given as one string is kept (as a one-item list), reported."""


def parse_settings(raw: object) -> tuple[Settings, list[str]]:
    """Structure user settings; every bad key is reported and falls back to its default."""
    if raw is None:
        return Settings(), []
    if not isinstance(raw, dict):
        return Settings(), [
            f"settings must be an object of settings by name, got {type(raw).__name__}"
        ]
    problems: list[str] = []
    good: dict[str, Any] = {}
    for key, value in raw.items():
        field = _FIELDS.get(key)
        if field is None:
            problems.append(f"unknown setting {key!r} ignored")
            continue
        if field.type == list[str]:
            # A list with a slip in it: what can be kept is kept. A string alone is reported
            # and, like any wrong type, replaced by the default; but a secret pattern is kept
            # as a one-item list (dropped for a typo, it would let the secret into the store).
            if isinstance(value, str) and field.name in _KEPT_ALONE:
                problems.append(
                    f"setting {key!r}: {_shown(value)} is a string where a list of strings"
                    f" belongs; taken as [{_shown(value)}]"
                )
                value = [value]
            elif isinstance(value, list) and not all(isinstance(v, str) for v in value):
                bad = [v for v in value if not isinstance(v, str)]
                problems.append(
                    f"setting {key!r}: {_shown(bad)} ignored (each item must be a string)"
                )
                value = [v for v in value if isinstance(v, str)]
        try:
            structured = converter.structure(value, field.type)  # type: ignore[arg-type]
            if field.validator is not None:
                field.validator(None, field, structured)
        except Exception as exc:
            detail = (
                f"it must be {_KINDS.get(field.type, 'of another type')}"
                if isinstance(exc, (cattrs.BaseValidationError, TypeError))
                or not isinstance(exc, ValueError)
                else str(exc)
            )
            if field.type is int and _whole(value) and field.validator is not None:
                try:  # a whole number too large to hold: say the bounds, not the type
                    field.validator(None, field, value)
                except ValueError as bounds:
                    detail = str(bounds)
            problems.append(
                f"setting {key!r}: {_shown(value)} cannot be used ({detail}); using the"
                f" default, {_shown(_default(field))}"
            )
            continue
        good[field.name] = structured
    return Settings(**good), problems


def settings_to_wire(settings: Settings) -> dict[str, Any]:
    result: dict[str, Any] = converter.unstructure(settings)
    return result


_JSON_TYPES: dict[object, object] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list[str]: "array",
    str | None: ["string", "null"],
}


def _descriptions() -> dict[str, str]:
    """Each field's docstring (the string under it in ``Settings``), on one line."""
    (cls,) = ast.parse(inspect.getsource(Settings)).body
    assert isinstance(cls, ast.ClassDef)
    found: dict[str, str] = {}
    for field, doc in zip(cls.body, cls.body[1:], strict=False):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(doc, ast.Expr)
            and isinstance(doc.value, ast.Constant)
            and isinstance(doc.value.value, str)
        ):
            found[field.target.id] = " ".join(doc.value.value.split())
    return found


def settings_schema() -> dict[str, dict[str, Any]]:
    """Per camelCase setting, what an editor's configuration schema must say of it: its
    ``default`` (as on the wire), JSON ``type``, ``description`` (the field's docstring) and,
    from its validator, ``minimum`` (0 or more) or ``exclusiveMinimum`` (greater than 0),
    and ``maximum``."""
    defaults = settings_to_wire(Settings())
    descriptions = _descriptions()
    schema: dict[str, dict[str, Any]] = {}
    for name, field in _FIELDS.items():
        if field.type not in _JSON_TYPES or field.name not in descriptions:
            raise TypeError(
                f"setting {name}: give it a docstring, and its type {field.type} a JSON type"
                " in settings._JSON_TYPES"
            )
        entry: dict[str, Any] = {
            "default": defaults[name],
            "type": _JSON_TYPES[field.type],
            "description": descriptions[field.name],
        }
        if isinstance(field.validator, _RuleSelectors):
            entry["items"] = {"type": "string", "pattern": RULE_SELECTOR}
        elif isinstance(field.validator, _OneOf):
            entry["enum"] = list(field.validator.choices)
        elif field.validator is not None:
            if not isinstance(field.validator, _Bounds):
                raise TypeError(
                    f"setting {name}: settings_schema does not say what its validator"
                    " allows; teach it, so that package.json can say so too"
                )
            if field.validator.minimum > 0:
                entry["minimum"] = field.validator.minimum
            else:
                entry["exclusiveMinimum" if field.validator.exclusive else "minimum"] = 0
            entry["maximum"] = field.validator.maximum
        schema[name] = entry
    return schema


def resolve_redis_url(settings: Settings) -> str | None:
    """The Redis of the group: the setting, else $SHIM_REDIS_URL, else none (local mode)."""
    return settings.redis_url or os.environ.get(REDIS_URL_ENV) or None


def resolve_state_dir(settings: Settings) -> Path:
    """Where the store lives: the setting, else $SHIM_STATE_DIR, else the platform state dir."""
    if settings.state_dir:
        return Path(settings.state_dir).expanduser()
    return default_state_dir()
