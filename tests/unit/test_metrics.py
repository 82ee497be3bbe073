"""Metrics across windows that come and go: real processes sharing one metrics folder, read
back through ``shim metrics`` as a user (or Prometheus) would."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from shim_lsp.cli.metrics import loopback
from shim_lsp.metrics import exporter

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
    reused = window(tmp_path, 5, "wait")
    # reused's window was killed and its pid given to another program: its start time differs
    (tmp_path / "metrics" / f"started_{reused.pid}").write_text("1000.0")
    try:
        out = shim_metrics(tmp_path, "--json")
        assert out.returncode == 0, out.stderr
        figures = json.loads(out.stdout)
        assert figures["checkpoints"]["taken"] == 4
        assert figures["recoveries"]["restored"] == 4
        assert figures["windows"] == {"live": 1}
        assert figures["unsaved"]["bytes"] == 3
        assert figures["checkpoints"]["newestAt"] == 1700000100.0
        readable = shim_metrics(tmp_path).stdout.splitlines()
        assert readable[0] == "Windows: 1 live"
        assert readable[1].startswith("Unsaved: 3 B, oldest 0 ms;")
        assert readable[4].startswith("Checkpoints: 4 (p50 38 ms, p95 49 ms), 0 failed, newest")
        assert not [line for line in readable if line.startswith("shim_")], "no raw families"
    finally:
        assert running.stdin is not None
        running.stdin.close()
        running.wait(timeout=30)
        reused.kill()
        reused.wait(timeout=30)
    folder = tmp_path / "metrics"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # No window left: 0 windows (not nothing), and their files folded into the archive.
    after = shim_metrics(tmp_path, "--json")
    assert json.loads(after.stdout)["windows"] == {"live": 0}, after.stderr
    assert json.loads(after.stdout)["checkpoints"]["taken"] == 4
    quiet = shim_metrics(tmp_path).stdout.splitlines()
    assert quiet[1] == "Unsaved: none; in no checkpoint yet: none"
    assert quiet[6] == "Store: no window open, 0 errors"
    assert sorted(os.listdir(folder)) == [
        ".lock",
        "counter_archive.db",
        "gauge_max_archive.db",
        "histogram_archive.db",
    ]


WINDOWS_DIE = """
import os
import sys
from pathlib import Path
from shim_lsp.metrics import recorder
assert recorder.enable(Path(sys.argv[1])) is None
for n in range(int(sys.argv[2])):
    pid = os.fork()
    if pid == 0:  # a window of its own pid (prometheus_client opens its files), then killed
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(Path(sys.argv[1]) / "metrics")
        recorder.checkpoint("manual", 0.02 * (n % 5), 1000, 1700000000.0 + n)
        recorder.recovery("restored")
        recorder.lost_edits("dismissed", 2)
        recorder.active().unsaved_bytes.set(7)
        os._exit(0)
    os.waitpid(pid, 0)
os._exit(0)
"""


def windows_die(state_dir: Path, count: int) -> None:
    subprocess.run(
        [sys.executable, "-c", WINDOWS_DIE, str(state_dir), str(count)], check=True, timeout=120
    )


def totals(folder: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every counter and histogram sample of the folder as it is, nothing folded or dropped."""
    metrics, bad = exporter.merged_files(folder)
    assert bad == []
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for m in metrics
        if m.type in ("counter", "histogram")
        for s in m.samples
    }


def test_dead_windows_are_folded_into_one_archive_with_the_same_totals(tmp_path: Path) -> None:
    """100 windows die (a folder of ~500 files): the first look folds them into three
    archive files, every total unchanged; 20 more die and are folded into the same archive,
    by two exporters at once."""
    folder = tmp_path / "metrics"
    windows_die(tmp_path, 100)
    assert len(os.listdir(folder)) > 400
    before = totals(folder)
    out = shim_metrics(tmp_path, "--json")
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert figures["windows"] == {"live": 0} and figures["unsaved"]["bytes"] == 0
    assert figures["checkpoints"]["taken"] == 100
    assert figures["recoveries"]["lostEdits"]["dismissed"] == 200
    assert figures["checkpoints"]["newestAt"] == 1700000099.0
    archived = {".lock", "counter_archive.db", "histogram_archive.db", "gauge_max_archive.db"}
    assert set(os.listdir(folder)) == archived
    assert totals(folder) == before

    windows_die(tmp_path, 20)
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "shim_lsp.cli", "metrics", "--json", "--state-dir", tmp_path],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in both:
        stdout, _ = proc.communicate(timeout=60)
        figures = json.loads(stdout)
        assert figures["checkpoints"]["taken"] == figures["recoveries"]["restored"] == 120
    assert set(os.listdir(folder)) == archived


def test_a_damaged_archive_is_kept_aside_said_once_and_folding_goes_on(tmp_path: Path) -> None:
    """The archive emptied or overwritten: it is moved out of the figures (kept for the user,
    said once with its totals lost), a new archive folds the dead windows, none pile up."""
    folder = tmp_path / "metrics"
    windows_die(tmp_path, 2)
    assert shim_metrics(tmp_path, "--json").returncode == 0
    (folder / "counter_archive.db").write_bytes(os.urandom(200))
    windows_die(tmp_path, 3)
    out = shim_metrics(tmp_path, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["recoveries"]["restored"] == 3  # the archive's 2 are lost
    (aside,) = folder.glob("counter_archive.db.damaged-*")
    assert f"{folder / 'counter_archive.db'} was damaged" in out.stderr, out.stderr
    assert f"kept as {aside}" in out.stderr and "no longer in the figures" in out.stderr
    assert "Traceback" not in out.stderr and "out of range" not in out.stderr
    assert not list(folder.glob("counter_[0-9]*.db")), "the dead windows were folded"
    again = shim_metrics(tmp_path, "--json")
    assert json.loads(again.stdout)["recoveries"]["restored"] == 3
    assert "damaged" not in again.stderr


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
    assert json.loads(out.stdout)["checkpoints"]["taken"] == 1
    for name in ("counter_88887.db", "counter_5.db", "counter_6.db"):
        assert f"{folder / name} left out" in out.stderr, out.stderr
    assert "not a regular file (a link or a folder): not read" in out.stderr
    assert "Traceback" not in out.stderr
    assert outside.stat().st_atime_ns == before


SHIM = [sys.executable, "-m", "shim_lsp.cli"]


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        lines = r.read().decode().splitlines()
    return {k: float(v) for k, v in (line.rsplit(" ", 1) for line in lines if line[:1] != "#")}


MANUAL = 'shim_checkpoints_total{outcome="ok",reason="manual"}'


def test_a_damaged_file_keeps_its_last_totals_in_the_exporter_so_no_counter_seems_reset(
    tmp_path: Path,
) -> None:
    """A window's counter file emptied (a full disk, a cleanup): the long-running exporter
    keeps that file's last good totals (said once); a drop would read as a counter reset to
    Prometheus, which would then count the rest again. The one-shot summary leaves it out."""
    serve = subprocess.Popen(
        [*SHIM, "metrics", "serve", "--port", "0", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        port = int(serve.stdout.readline().split(":")[-1].split("/")[0])
        # Before any window: every counter is there at zero, so a first event is an increase.
        assert scrape(port)[MANUAL] == 0
        for unsaved in (100, 20):
            assert window(tmp_path, unsaved, "exit").wait(timeout=30) == 0
        assert scrape(port)[MANUAL] == 2
        # The two windows that exited are folded into the archive: the one counter file.
        (damaged,) = sorted((tmp_path / "metrics").glob("counter_*.db"))
        damaged.write_bytes(b"")
        assert scrape(port)[MANUAL] == 2
        assert scrape(port)['shim_recoveries_total{outcome="restored"}'] == 2
        one_shot = json.loads(shim_metrics(tmp_path, "--json").stdout)
        # The summary leaves the damaged counter file out; the checkpoints' count comes with
        # their durations from the histogram, so it never says "0 (p50 50 ms)".
        assert one_shot["recoveries"]["restored"] == 0
        assert one_shot["checkpoints"]["taken"] == 2 and one_shot["checkpoints"]["p50Seconds"]
    finally:
        serve.terminate()
        _, err = serve.communicate(timeout=30)
    assert err.count(f"{damaged} left out") == 1, err
    assert "its last good figures stand in" in err


def test_metrics_without_any_window_say_so(tmp_path: Path) -> None:
    out = shim_metrics(tmp_path)
    assert out.returncode == 2
    assert "no SHIM metrics at" in out.stderr
    assert out.stdout == ""
    # A file or a FIFO where the folder goes: both commands refuse it in the same words.
    (tmp_path / "metrics").write_text("hi")
    summary, served = shim_metrics(tmp_path), shim_metrics(tmp_path, "serve", "--port", "0")
    assert summary.returncode == served.returncode == 2
    assert summary.stderr == served.stderr
    assert "metrics is not a folder; remove it" in summary.stderr
    (tmp_path / "metrics").unlink()
    os.mkfifo(tmp_path / "metrics")
    assert "metrics is not a folder; remove it" in shim_metrics(tmp_path).stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.org"])
def test_the_exporter_listens_on_loopback_only(tmp_path: Path, host: str) -> None:
    out = shim_metrics(tmp_path, "serve", "--host", host)
    assert out.returncode == 2
    assert "is not a loopback address" in out.stderr
    assert loopback("::1") == "::1"


def test_the_exporter_on_ipv6_loopback_prints_a_url_that_works(tmp_path: Path) -> None:
    shim = [sys.executable, "-m", "shim_lsp.cli", "metrics", "serve", "--host", "::1"]
    proc = subprocess.Popen(
        [*shim, "--port", "0", "--state-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("SHIM metrics for Prometheus at http://[::1]:"), line
        with urllib.request.urlopen(line.split(" at ")[1].split()[0], timeout=10) as r:
            assert "\nshim_windows 0.0\n" in r.read().decode()  # no window: 0, not nothing
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
    assert figures["checkpoints"]["taken"] == 1
    assert figures["windows"] == {"live": 0}  # the session closed: its gauges went with it


TURNED_OFF = """
import shutil
import sys
from pathlib import Path
import attrs
from helpers import engine_for
from shim_lsp.metrics import exporter, recorder
from shim_lsp.session.engine import SessionEngine
from shim_lsp.settings import Settings
def figures(folder):
    out = {}
    for name, labels, value in exporter.samples(folder):
        key = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        out.setdefault(name, {})[key] = value
    return {k: v[""] if list(v) == [""] else v for k, v in out.items()}
ws, state = Path(sys.argv[1]), Path(sys.argv[2])
folder = state / "metrics"
# As the server starts when the editor sends settings (workspace/configuration): held.
engine = SessionEngine(Settings(state_dir=str(state)), [ws], text_source=lambda uri: None)
engine.hold()
engine.start()
engine.apply_settings(attrs.evolve(engine.settings, metrics=False))
engine.release()
engine.tick()
print("off from the start:", folder.exists())
engine.apply_settings(attrs.evolve(engine.settings, metrics=True))
engine.checkpoint(reason="manual").result(timeout=60)
engine.tick()
recorder.coordination(configured=True, connected=True, leader=True)
recorder.findings("typecheck", 3)
live = figures(folder)
engine.apply_settings(attrs.evolve(engine.settings, metrics=False))
off = figures(folder)
engine.apply_settings(attrs.evolve(engine.settings, metrics=True))
again = figures(folder)
# The metrics folder is deleted under the window: said once, and it records no more.
shutil.rmtree(folder)
for _ in range(3):
    engine.tick()
recorder.active() is None or sys.exit("still recording into deleted files")
engine.apply_settings(attrs.evolve(engine.settings, metrics=False))
engine.apply_settings(attrs.evolve(engine.settings, metrics=True))
engine.tick()
recorder.active() is None or sys.exit("recording again into a deleted folder")
engine.close("clean")
gauges = ["shim_windows", "shim_process_resident_memory_bytes", "shim_store_size_bytes",
          "shim_coordination_up", "shim_coordination_leader", "shim_risk_level"]
print("on:", [live[g] > 0 for g in gauges], live["shim_analysis_findings"]["analysis=typecheck"])
print("off:", [g for g in gauges + ["shim_analysis_findings"] if off.get(g)])  # windows: 0
manual = "outcome=ok,reason=manual"
print("totals kept:", off["shim_checkpoints_total"][manual],
      again["shim_checkpoints_total"][manual], "windows:", again["shim_windows"])
"""


def test_metrics_off_in_the_editors_settings_writes_nothing_and_turned_off_drops_every_live_gauge(
    tmp_path: Path,
) -> None:
    """``metrics: false`` sent by the editor (workspace/configuration, as VS Code sends it)
    writes nothing; turned off mid-session, the window's live figures leave the folder at
    once (not frozen until exit), its totals stay; turned on again, it counts again."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.py").write_text("a = 1\n")
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
    assert out.stdout.splitlines() == [
        "off from the start: False",
        "on: [True, True, True, True, True, False] 3.0",
        "off: []",
        "totals kept: 1.0 1.0 windows: 1.0",
    ]
    assert out.stderr.count("metrics folder") == 1, out.stderr
    assert f"metrics folder {tmp_path / 'state' / 'metrics'} (or this" in out.stderr
    assert "Traceback" not in out.stderr


LINKED = """
import sys
from pathlib import Path
from shim_lsp.metrics import recorder
state = Path(sys.argv[1])
print(recorder.enable(state))
print(recorder.enable(state), recorder.active())
"""


def test_a_metrics_folder_that_is_a_link_is_refused_said_once_and_never_written_through(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    outside.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    (state / "metrics").symlink_to(outside)
    out = subprocess.run(
        [sys.executable, "-c", LINKED, str(state)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"SHIM's metrics are off for this window: {state / 'metrics'} is a symbolic link (to"
        f" {outside}); SHIM writes metrics only inside its state folder: remove the link",
        "None None",  # said once; the window goes on without metrics
    ]
    for args in [(), ("serve", "--port", "0")]:
        cli = shim_metrics(state, *args)
        assert cli.returncode == 2 and "is a symbolic link" in cli.stderr, cli.stderr
    assert list(outside.iterdir()) == []
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755
