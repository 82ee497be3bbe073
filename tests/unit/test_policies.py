"""Retention, the risk model, liveness and settings: the decisions SHIM makes on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shim_lsp.process import process_start_time
from shim_lsp.recovery.find import SessionRow, is_alive, this_host
from shim_lsp.session.engine import SessionEngine
from shim_lsp.session.policy import Clock, due
from shim_lsp.settings import (
    Settings,
    parse_settings,
    resolve_state_dir,
    settings_schema,
    wire_names,
)
from shim_lsp.signals.model import Alarm, Measurements, assess
from shim_lsp.store.checkpoints import CheckpointRow
from shim_lsp.store.retention import thin
from shim_lsp.workspace.scan import FileRules

NOW = 1_800_000_000.0
HOUR = 3600.0


def _cp(cid: int, age_s: float, label: str | None = None, base: int | None = None) -> CheckpointRow:
    return CheckpointRow(cid, "s", "ws", NOW - age_s, label, "auto", base, 0, 1, 1)


def test_retention_keeps_recent_then_hourly_then_daily_and_named() -> None:
    rows = [
        _cp(1, 10 * 60),  # recent
        _cp(2, 20 * 60),  # recent
        _cp(3, 2 * HOUR + 60),  # hourly bucket, newest in its hour
        _cp(4, 2 * HOUR + 120),  # same hour: thinned
        _cp(5, 3 * 24 * HOUR),  # daily
        _cp(6, 3 * 24 * HOUR + 60),  # same day: thinned
        _cp(7, 30 * 24 * HOUR),  # too old
        _cp(8, 30 * 24 * HOUR, label="release"),  # named: kept
    ]
    assert thin(rows, NOW, Settings()) == {4, 6, 7}


def test_retention_spares_the_base_of_a_kept_delta() -> None:
    rows = [_cp(1, 30 * 24 * HOUR), _cp(2, 60, base=1)]
    assert thin(rows, NOW, Settings()) == set()


def _measure(**kw: object) -> Measurements:
    base: dict[str, object] = dict(
        unsaved_bytes=0,
        oldest_unsaved_age_s=0.0,
        edits_since_checkpoint=0,
        rss_bytes=50 * 1024 * 1024,
        rss_growth_mb_per_min=0.0,
        client_alive=True,
        journal_pending=0,
        journal_lag_s=0.0,
        disk_free_bytes=50 * 1024**3,
    )
    base.update(kw)
    return Measurements(**base)  # type: ignore[arg-type]


def test_risk_is_low_when_nothing_is_at_stake() -> None:
    assert assess(_measure(), Settings()).level == "low"


def test_risk_names_the_measurement_that_made_it_high() -> None:
    a = assess(_measure(oldest_unsaved_age_s=45 * 60, unsaved_bytes=2000), Settings())
    assert a.level == "high"
    assert any("oldest change no checkpoint holds" in r for r in a.reasons)
    age = next(r for r in a.reasons if "oldest change" in r)
    assert age.endswith(": 45 of 30"), "no '.0' that says nothing"
    full_disk = assess(_measure(disk_free_bytes=50 * 1024 * 1024), Settings())
    assert full_disk.level == "high" and any("free space" in r for r in full_disk.reasons)
    assert assess(_measure(client_alive=False), Settings()).level == "high"


def test_alarm_fires_once_per_episode() -> None:
    alarm, settings = Alarm(), Settings()
    high = assess(_measure(unsaved_bytes=10**6), settings)
    low = assess(_measure(), settings)
    assert [alarm.update(a) for a in (high, high, high, low, high)] == [
        True,
        False,
        False,
        False,
        True,
    ]


def test_a_live_process_with_another_start_time_is_a_reused_pid() -> None:
    me = os.getpid()
    row = SessionRow(
        "s",
        "ws",
        "/",
        this_host(),
        me,
        process_start_time(me),
        None,
        NOW,
        NOW,
        None,
        None,
        None,
        None,
    )
    assert is_alive(row)
    reused = SessionRow(
        "s", "ws", "/", this_host(), me, 12345.0, None, NOW, NOW, None, None, None, None
    )
    assert not is_alive(reused)


def test_a_dead_pid_is_not_alive_and_other_hosts_go_by_heartbeat() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = SessionRow(
        "s", "ws", "/", this_host(), child.pid, None, None, NOW, NOW, None, None, None, None
    )
    assert not is_alive(dead)
    now = time.time()
    fresh = SessionRow(
        "s", "ws", "/", "elsewhere", 1, None, None, now, now - 5, None, None, None, None
    )
    stale = SessionRow(
        "s", "ws", "/", "elsewhere", 1, None, None, now, now - 600, None, None, None, None
    )
    assert is_alive(fresh) and not is_alive(stale)


def test_bad_settings_are_reported_and_replaced_by_defaults() -> None:
    settings, problems = parse_settings(
        {"flushInterval": 0.05, "autoCheckpoint": "yes", "maxFileSize": -1, "nope": 1}
    )
    assert settings.flush_interval == 0.05
    assert settings.auto_checkpoint is True and settings.max_file_size == Settings().max_file_size
    assert len(problems) == 3
    assert parse_settings("not an object")[1]


def test_a_string_where_a_list_belongs_is_reported_and_replaced_by_the_default() -> None:
    """ruffSelect "F" is not a rule list; a secret pattern alone is kept (safer), but said."""
    settings, problems = parse_settings(
        {"ruffSelect": "F", "ruffIgnore": "F401", "excludeGlobs": "x", "secretGlobs": "*.tok"}
    )
    assert (settings.ruff_select, settings.ruff_ignore, settings.exclude_globs) == ([], [], [])
    assert settings.secret_globs == ["*.tok"]
    assert problems == [
        "setting 'ruffSelect': \"F\" cannot be used (it must be a list of strings); using the"
        " default, []",
        "setting 'ruffIgnore': \"F401\" cannot be used (it must be a list of strings); using"
        " the default, []",
        "setting 'excludeGlobs': \"x\" cannot be used (it must be a list of strings); using"
        " the default, []",
        "setting 'secretGlobs': \"*.tok\" is a string where a list of strings belongs; taken"
        ' as ["*.tok"]',
    ]


def test_absurd_numbers_are_reported_and_replaced_by_defaults() -> None:
    """1e308 seconds of idle would mean no idle checkpoint ever: every number has a ceiling."""
    settings, problems = parse_settings(
        {
            "idleCheckpointDelay": 1e308,
            "checkpointInterval": float("inf"),
            "flushInterval": float("nan"),
            "codemodJobs": 10**9,
            "maxFileSize": 2**62,
        }
    )
    assert settings == Settings()
    assert len(problems) == 5
    assert problems[0] == (
        "setting 'idleCheckpointDelay': 1e+308 cannot be used (it must be greater than 0 and at"
        " most 86400); using the default, 30"
    )
    assert not parse_settings({"idleCheckpointDelay": 86400, "codemodJobs": 256})[1]


def test_a_whole_number_too_large_for_a_count_is_told_its_bounds_not_its_type() -> None:
    """1e308 is a whole number: "it must be a whole number" sent the user the wrong way."""
    for value in (1e308, 10**30):
        (problem,) = parse_settings({"maxFileSize": value})[1]
        assert "(it must be greater than 0 and at most 1073741824)" in problem, problem
    (problem,) = parse_settings({"maxFileSize": 2.5})[1]
    assert "(it must be a whole number)" in problem


def test_the_settings_schema_is_each_fields_docstring_default_and_bound() -> None:
    schema = settings_schema()
    assert list(schema) == wire_names()
    for name, entry in schema.items():
        if entry["type"] in ("number", "integer"):
            assert "maximum" in entry, f"{name} has a ceiling"
            top = entry["maximum"]
            assert not parse_settings({name: top})[1] and parse_settings({name: top * 2})[1], name
    assert schema["flushInterval"] == {
        "default": 0.2,
        "type": "number",
        "description": "Seconds between synced journal commits: at most this much typing is lost"
        " on a power cut (each change is committed within milliseconds, so a killed process"
        " loses only those).",
        "exclusiveMinimum": 0,
        "maximum": 60,
    }
    assert schema["stateDir"]["type"] == ["string", "null"]
    assert schema["excludeGlobs"]["default"] == []
    assert all(len(entry["description"]) > 20 for entry in schema.values())
    # The bounds are the validators': 0 is refused where the minimum is exclusive.
    for name, entry in schema.items():
        if "exclusiveMinimum" in entry:
            assert parse_settings({name: 0})[1] and not parse_settings({name: 1})[1], name
        if "minimum" in entry:  # 0, or a floor above it (coordinationTtl)
            low = entry["minimum"]
            assert not parse_settings({name: low})[1] and parse_settings({name: low - 1})[1], name
    assert {n for n, e in schema.items() if "minimum" in e} == {
        "codemodBatchWorkers",
        "keepAllMinutes",
        "keepHourlyHours",
        "keepDailyDays",
        "codemodJobs",
        "ruffDebounce",
        "coordinationTtl",
    }


def test_state_dir_comes_from_setting_then_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHIM_STATE_DIR", str(tmp_path / "env"))
    assert resolve_state_dir(Settings()) == tmp_path / "env"
    assert resolve_state_dir(Settings(state_dir=str(tmp_path / "set"))) == tmp_path / "set"


def _clock(**kw: float | bool | None) -> Clock:
    base: dict[str, float | bool | None] = dict(
        now=NOW,
        last_checkpoint_at=NOW - 10,
        last_edit_at=NOW - 5,
        changed_since_checkpoint=True,
        has_dirty=True,
        last_scan_at=NOW - 10,
    )
    base.update(kw)
    return Clock(**base)  # type: ignore[arg-type]


def test_checkpoint_policy_waits_for_an_idle_pause_or_the_interval() -> None:
    s = Settings(idle_checkpoint_delay=30, checkpoint_interval=300)
    assert due(_clock(), s) is None, "still typing, interval not reached"
    assert due(_clock(last_edit_at=NOW - 31), s) is None, "that edit is in the last checkpoint"
    assert due(_clock(last_checkpoint_at=NOW - 100, last_edit_at=NOW - 31), s) == "idle"
    assert due(_clock(last_checkpoint_at=NOW - 301, last_edit_at=NOW - 1), s) == "interval"
    assert due(_clock(changed_since_checkpoint=False, last_checkpoint_at=NOW - 999), s) is None
    saved = _clock(last_checkpoint_at=NOW - 100, last_edit_at=NOW - 31, has_dirty=False)
    assert due(saved, s) is None, "saved: nothing at risk"
    assert due(_clock(last_scan_at=NOW - 10_000), s) == "scan"
    idle = _clock(last_checkpoint_at=NOW - 100, last_edit_at=NOW - 31)
    assert due(idle, Settings(auto_checkpoint=False)) is None


def test_user_secret_patterns_add_to_the_built_in_ones(tmp_path: Path) -> None:
    settings, problems = parse_settings({"secretGlobs": ["*.secret"]})
    assert problems == []
    rules = FileRules.from_settings(tmp_path, settings)
    for name in (".env", "server.pem", "id_rsa", "token.secret"):
        assert rules.is_secret(tmp_path / name), name
    assert not rules.is_secret(tmp_path / "app.py")
    taken_back = FileRules.from_settings(tmp_path, Settings(secret_globs=["!*.key"]))
    assert not taken_back.is_secret(tmp_path / "a.key") and taken_back.is_secret(tmp_path / ".env")


def test_shims_own_staged_writes_are_never_checkpointed(tmp_path: Path) -> None:
    """A write killed between staging and renaming leaves ``.NAME.XXXX.shim-tmp``: SHIM's,
    not the user's work, and never worth a place in the store."""
    rules = FileRules.from_settings(tmp_path, Settings())
    assert rules.excluded(tmp_path / "pkg" / ".a.py.k3x9.shim-tmp", False)
    assert not rules.excluded(tmp_path / "pkg" / "a.py", False)


def test_unsaved_work_a_checkpoint_secured_no_longer_counts_as_at_risk(
    workspace: Path, state_dir: Path
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    uri = (workspace / "a.py").as_uri()
    texts = {uri: "a = 1\n" + "x = 'unsaved'\n" * 200}
    engine = SessionEngine(
        Settings(state_dir=str(state_dir), risk_unsaved_kb=1),
        [workspace],
        text_source=lambda u: (texts[u], engine.buffers.buffers[u].version),
    )
    engine.start()
    engine.did_open(uri, "a = 1\n", 1)
    engine.did_change(uri, 2, [[texts[uri]]], len(texts[uri]))
    assert engine.assess().level == "high"
    engine.checkpoint(reason="risk").result()
    after = engine.assess()
    assert after.level == "low", after.reasons
    assert after.measurements.unsaved_bytes == len(texts[uri]), "still unsaved, but secured"
    texts[uri] += "y = 'typed after the checkpoint'\n" * 100
    engine.did_change(uri, 3, [[texts[uri]]], len(texts[uri]))
    assert engine.assess().level == "high", "new typing is at risk again"
    engine.close("clean")


def test_setting_problems_speak_the_settings_names_not_pythons() -> None:
    settings, problems = parse_settings(
        {"secretGlobs": [1, "*.x", None], "flushInterval": -1, "autoCheckpoint": "yes"}
    )
    assert problems == [
        "setting 'secretGlobs': [1, null] ignored (each item must be a string)",
        "setting 'flushInterval': -1 cannot be used (it must be greater than 0 and at most 60);"
        " using the default, 0.2",
        "setting 'autoCheckpoint': \"yes\" cannot be used (it must be true or false); using the"
        " default, true",
    ]
    assert settings.secret_globs == ["*.x"], "what can be kept is kept"
    assert not parse_settings("text")[1][0].startswith("SHIM"), "callers add the name"


def test_ruff_rule_settings_take_only_rule_selectors() -> None:
    settings, problems = parse_settings({"ruffSelect": ["--fix"], "ruffIgnore": ["E501", "x;y"]})
    assert settings.ruff_select == [] and settings.ruff_ignore == []
    assert any("ruffSelect" in p and "not ruff rule selectors" in p for p in problems)
    assert any("ruffIgnore" in p and '["x;y"] are not' in p for p in problems)
    good = {"ruffSelect": ["ALL", "F", "E4", "PLR0913"], "ruffIgnore": ["RUF100"]}
    assert parse_settings(good) == (
        Settings(ruff_select=good["ruffSelect"], ruff_ignore=["RUF100"]),
        [],
    )
    assert settings_schema()["ruffSelect"]["items"]["pattern"] == "^(ALL|[A-Z]+[0-9]*)$"


def test_type_checks_are_off_by_default_and_the_checker_is_one_of_those_known() -> None:
    assert Settings().type_check_enabled is False
    settings, problems = parse_settings({"typeChecker": "pyright", "typeCheckEnabled": True})
    assert (settings.type_checker, settings.type_check_enabled) == ("mypy", True)
    assert problems == [
        'setting \'typeChecker\': "pyright" cannot be used (it must be one of "mypy");'
        ' using the default, "mypy"'
    ]
    assert settings_schema()["typeChecker"]["enum"] == ["mypy"]
