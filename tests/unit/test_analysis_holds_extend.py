"""Which files a settings file ``extend``s, as ruff reads the setting (TOML, not a pattern):
the chain SHIM stats before ruff starts, so that an extended FIFO is named, never waited on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shim_lsp.analysis.holds import extended


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("ruff.toml", 'extend = "base.toml"\n'),
        ("ruff.toml", '"extend" = "base.toml"  # quoted key\n'),
        (".ruff.toml", "extend = '''base.toml'''\n"),
        ("pyproject.toml", '[tool.ruff]\nline-length = 90\nextend = "base.toml"\n'),
        ("pyproject.toml", '[tool]\nruff.extend = "base.toml"\n'),
        ("pyproject.toml", 'tool.ruff = { extend = "base.toml" }\n'),
    ],
)
def test_the_extend_setting_is_read_as_toml(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    (tmp_path / "base.toml").write_text('extend = "sub/more.toml"\n')
    assert extended(str(tmp_path / name)) == [
        str(tmp_path / "base.toml"),
        str(tmp_path / "sub" / "more.toml"),
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("ruff.toml", 'extend-select = ["E"]\nextend-exclude = ["x"]\n'),
        ("pyproject.toml", '[tool.other]\nextend = "base.toml"\n'),  # not ruff's
        ("pyproject.toml", 'extend = "base.toml"\n'),  # pyproject's top level: not ruff's
        ("ruff.toml", 'extend = "base.toml\n'),  # not TOML: ruff refuses it itself
        ("ruff.toml", "extend = 3\n"),
    ],
)
def test_what_is_not_ruffs_extend_is_not_followed(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    assert extended(str(tmp_path / name)) == []


def test_a_fifo_is_never_opened_to_read_its_setting(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text('extend = "pipe"\n')
    os.mkfifo(tmp_path / "pipe")
    assert extended(str(tmp_path / "ruff.toml")) == [str(tmp_path / "pipe")]  # and no wait
