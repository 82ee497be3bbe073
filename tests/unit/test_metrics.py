"""Metrics across windows that come and go: real processes sharing one metrics folder, read
back through ``shim metrics`` as a user (or Prometheus) would."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shim_lsp.cli.metrics import loopback

WINDOW = """
import os
import sys
from pathlib import Path
from shim_lsp.metrics import recorder
assert recorder.enable(Path(sys.argv[1])) is None
assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ  # tools SHIM starts do not inherit it
f = recorder.active()
f.unsaved_bytes.set(int(sys.argv[2]))
recorder.checkpoint("manual", 0.05, 1000, 1700000000.0 + int(sys.argv[2]))
recorder.recovery("restored")
print("ready", flush=True)
if sys.argv[3] == "exit":
    recorder.process_exiting()
else:
    sys.stdin.read()
"""


def window(state_dir: Path, unsaved: int, how: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WINDOW, str(state_dir), str(unsaved), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def shim_metrics(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", "metrics", "--state-dir", str(state_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_counters_outlive_their_windows_and_dead_windows_gauges_are_gone(tmp_path: Path) -> None:
    """One window exits cleanly, one is SIGKILLed, a third runs: the totals count all three,
    the gauges only the third."""
    clean = window(tmp_path, 100, "exit")
    assert clean.wait(timeout=30) == 0
    killed = window(tmp_path, 20, "wait")
    killed.kill()
    killed.wait(timeout=30)
    running = window(tmp_path, 3, "wait")
    try:
        out = shim_metrics(tmp_path, "--json")
        assert out.returncode == 0, out.stderr
        figures = json.loads(out.stdout)
        assert figures["shim_checkpoints_total"]["outcome=ok,reason=manual"] == 3
        assert figures["shim_recoveries_total"]["outcome=restored"] == 3
        assert figures["shim_windows"] == 1
        assert figures["shim_unsaved_bytes"] == 3
        assert figures["shim_last_checkpoint_timestamp_seconds"] == 1700000100.0
        readable = shim_metrics(tmp_path)
        assert "shim_unsaved_bytes: 3\n" in readable.stdout
    finally:
        assert running.stdin is not None
        running.stdin.close()
        running.wait(timeout=30)
    folder = tmp_path / "metrics"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert not [p for p in os.listdir(folder) if p.startswith("gauge_live") and "_20" in p]


def test_a_file_that_is_no_metrics_is_left_out_and_never_followed(tmp_path: Path) -> None:
    """An empty file (a full disk), garbage, a folder, a link out of the state folder: each
    is set aside, said once, and the windows' figures are still served."""
    clean = window(tmp_path, 100, "exit")
    assert clean.wait(timeout=30) == 0
    folder = tmp_path / "metrics"
    outside = tmp_path / "outside.db"
    outside.write_bytes(os.urandom(64))
    (folder / "counter_88887.db").write_bytes(b"")
    (folder / "counter_99999.db").write_bytes(os.urandom(100))
    (folder / "counter_5.db").mkdir()
    (folder / "counter_6.db").symlink_to(outside)
    before = outside.stat().st_atime_ns
    out = shim_metrics(tmp_path, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["shim_checkpoints_total"]["outcome=ok,reason=manual"] == 1
    for name in ("counter_88887.db", "counter_5.db", "counter_6.db"):
        assert f"{folder / name} left out" in out.stderr, out.stderr
    assert "not a regular file (a link or a folder): not read" in out.stderr
    assert "Traceback" not in out.stderr
    assert outside.stat().st_atime_ns == before


def test_metrics_without_any_window_say_so(tmp_path: Path) -> None:
    out = shim_metrics(tmp_path)
    assert out.returncode == 2
    assert "no SHIM metrics at" in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.org"])
def test_the_exporter_listens_on_loopback_only(tmp_path: Path, host: str) -> None:
    out = shim_metrics(tmp_path, "serve", "--host", host)
    assert out.returncode == 2
    assert "is not a loopback address" in out.stderr
    assert loopback("::1") == "::1"


ENGINE = """
import sys
from pathlib import Path
from helpers import engine_for
ws, state = Path(sys.argv[1]), Path(sys.argv[2])
engine = engine_for(ws, state, metrics=sys.argv[3] == "on")
engine.tick()
engine.checkpoint(reason="manual").result(timeout=60)
assert engine.close("clean")
"""


@pytest.mark.parametrize("setting", ["on", "off"])
def test_the_metrics_setting_decides_whether_anything_is_recorded(
    tmp_path: Path, setting: str
) -> None:
    """A session (in its own process, as a window is) records only with ``metrics`` on."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.py").write_text("a = 1\n")
    helpers = Path(__file__).parent
    subprocess.run(
        [sys.executable, "-c", ENGINE, str(ws), str(tmp_path / "state"), setting],
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(helpers), os.getcwd()])},
    )
    if setting == "off":
        assert not (tmp_path / "state" / "metrics").exists()
        return
    figures = json.loads(shim_metrics(tmp_path / "state", "--json").stdout)
    assert figures["shim_checkpoints_total"]["outcome=ok,reason=manual"] == 1
    assert "shim_windows" not in figures  # the session closed: its gauges went with it


TURNED_OFF = """
import sys
from pathlib import Path
import attrs
from helpers import engine_for
from shim_lsp.metrics import exporter, recorder
ws, state = Path(sys.argv[1]), Path(sys.argv[2])
engine = engine_for(ws, state)
recorder.active().unsaved_bytes.set(500)
engine.apply_settings(attrs.evolve(engine.settings, metrics=False))
recorder.active() is None or sys.exit("still recording")
figures = exporter.summary(state / "metrics")
print(figures["shim_unsaved_bytes"], figures["shim_windows"])
engine.close("clean")
"""


def test_turning_metrics_off_drops_the_windows_live_figures_to_zero(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", TURNED_OFF, str(ws), str(tmp_path / "state")],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.getcwd()]),
        },
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0.0", "1.0"]  # no frozen unsaved bytes; still a window
