"""The crash-risk model: a few measurements, each scored against a threshold, explained.

Each signal's severity is its value over its threshold, clamped to [0, 1]; the overall score
is the worst severity, so the answer to "why is risk high?" is always one named measurement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from shim_lsp.settings import Settings
from shim_lsp.wire import to_camel

Level = Literal["low", "elevated", "high"]

MB = 1024 * 1024
JOURNAL_LAG_HIGH_S = 5.0
MEMORY_GROWTH_HIGH_MB_PER_MIN = 50.0
EDITS_HIGH = 2000


@dataclass(frozen=True)
class Measurements:
    unsaved_bytes: int
    oldest_unsaved_age_s: float
    edits_since_checkpoint: int
    rss_bytes: int
    rss_growth_mb_per_min: float
    client_alive: bool
    journal_pending: int
    journal_lag_s: float
    disk_free_bytes: int | None
    store_error: str | None = None
    unchecked_bytes: int | None = None
    """Unsaved text that no checkpoint holds yet (None: all of ``unsaved_bytes``)."""
    oldest_unchecked_age_s: float | None = None


@dataclass(frozen=True)
class Signal:
    name: str
    value: float
    threshold: float
    severity: float
    explanation: str


@dataclass(frozen=True)
class Assessment:
    score: float
    level: Level
    signals: list[Signal]
    measurements: Measurements

    @property
    def danger(self) -> str | None:
        """Real danger, beyond risk: the store fails or the disk under it is nearly full."""
        found = [
            s.explanation
            for s in self.signals
            if s.name in ("storeWritable", "diskFreeMb") and s.severity >= 1.0
        ]
        return "; ".join(found) or None

    @property
    def reasons(self) -> list[str]:
        return [s.explanation for s in self.signals if s.severity >= 0.5]

    def to_json(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 3),
            "level": self.level,
            "reasons": self.reasons,
            "signals": [asdict(s) for s in self.signals],
            "measurements": {to_camel(k): v for k, v in asdict(self.measurements).items()},
        }


def _figure(value: float) -> str:
    """ "256", "0.4": one decimal, without a ".0" that says nothing."""
    return f"{value:.1f}".removesuffix(".0")


def _rising(name: str, value: float, threshold: float, what: str) -> Signal:
    severity = max(0.0, min(1.0, value / threshold)) if threshold > 0 else 0.0
    explanation = f"{what}: {_figure(value)} of {_figure(threshold)}"
    return Signal(name, value, threshold, severity, explanation)


def assess(m: Measurements, settings: Settings) -> Assessment:
    # Unsaved text that a checkpoint holds can be given back whatever happens next: only
    # what no checkpoint holds yet is at risk.
    at_risk = m.unsaved_bytes if m.unchecked_bytes is None else m.unchecked_bytes
    age = m.oldest_unsaved_age_s if m.oldest_unchecked_age_s is None else m.oldest_unchecked_age_s
    signals = [
        _rising(
            "unsavedKb",
            at_risk / 1024,
            settings.risk_unsaved_kb,
            "unsaved text no checkpoint holds (KiB)",
        ),
        _rising(
            "unsavedAgeMinutes",
            age / 60,
            settings.risk_unsaved_age_minutes,
            "age of the oldest change no checkpoint holds (min)",
        ),
        _rising(
            "editsSinceCheckpoint",
            m.edits_since_checkpoint,
            EDITS_HIGH,
            "edits since the last checkpoint",
        ),
        _rising("memoryMb", m.rss_bytes / MB, settings.risk_memory_mb, "server memory (MiB)"),
        _rising(
            "memoryGrowthMbPerMin",
            max(0.0, m.rss_growth_mb_per_min),
            MEMORY_GROWTH_HIGH_MB_PER_MIN,
            "memory growth (MiB/min)",
        ),
        _rising(
            "journalLagSeconds", m.journal_lag_s, JOURNAL_LAG_HIGH_S, "unwritten journal age (s)"
        ),
        Signal(
            "clientAlive",
            1.0 if m.client_alive else 0.0,
            1.0,
            0.0 if m.client_alive else 1.0,
            "the editor process is alive" if m.client_alive else "the editor process is gone",
        ),
    ]
    if m.disk_free_bytes is not None:
        free_mb = m.disk_free_bytes / MB
        low = settings.risk_disk_free_mb
        severity = 1.0 if free_mb <= low else max(0.0, min(1.0, 2 * low / free_mb - 1.0))
        signals.append(
            Signal(
                "diskFreeMb",
                free_mb,
                low,
                severity,
                f"free space under the store (MiB): {free_mb:.0f}, high risk below {low:.0f}",
            )
        )
    if m.store_error:
        signals.append(Signal("storeWritable", 0.0, 1.0, 1.0, f"the store fails: {m.store_error}"))
    score = max(s.severity for s in signals)
    level: Level = "high" if score >= 1.0 else "elevated" if score >= 0.5 else "low"
    return Assessment(score, level, signals, m)


@dataclass
class Alarm:
    """Acts once per episode of high risk: no nagging until risk has come back down."""

    raised: bool = False

    def update(self, assessment: Assessment) -> bool:
        """True when this assessment should trigger a checkpoint and a message."""
        if assessment.level == "high":
            if not self.raised:
                self.raised = True
                return True
            return False
        if assessment.level == "low":
            self.raised = False
        return False
