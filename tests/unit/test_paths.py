"""A file's URI and its path, and text that names files, as a client reads them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shim_lsp.workspace.paths import (
    normalize_uri,
    path_to_uri,
    paths_stored,
    stored_paths,
    uri_to_path,
    valid_text,
)


def test_a_byte_that_is_not_utf8_stays_the_names_byte_both_ways() -> None:
    """``%FF`` is the byte 0xFF of the name (as ``os.fsdecode`` keeps it), never U+FFFD:
    that would be another file, ``%EF%BF%BD``."""
    odd = Path(os.fsdecode(b"/ws/d\xff/b\xfd.py"))
    assert uri_to_path("file:///ws/d%FF/b%FD.py") == odd
    assert path_to_uri(odd) == "file:///ws/d%FF/b%FD.py"
    assert uri_to_path("file:///ws/b%EF%BF%BD.py") == Path("/ws/b\ufffd.py")
    assert normalize_uri("file:///ws/d%ff/b%fd.py") == "file:///ws/d%FF/b%FD.py"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        ("caf\u00e9 \U0001f600", "caf\u00e9 \U0001f600"),
        (os.fsdecode(b"o\xff.py is not protected"), "o\ufffd.py is not protected"),
        (os.fsdecode(b"two \xe2\x82 bytes"), "two \ufffd bytes"),  # as ruff names it: one
        ("typed \ud83d alone", "typed \ufffd alone"),
    ],
)
def test_valid_text_is_what_any_json_reader_takes(text: str, shown: str) -> None:
    assert valid_text(text) == shown
    valid_text(text).encode("utf-8")  # strict: no lone surrogate left


def test_paths_are_stored_as_text_sqlite_takes_and_read_back_as_they_were() -> None:
    """A path whose name is not UTF-8 is stored as its URI; every other as it is, as older
    rows hold them all."""
    odd = os.fsdecode(b"/ws/r\xffoot")
    stored = stored_paths(["/ws/plain", "/ws/caf\u00e9", odd])
    assert stored == "/ws/plain\n/ws/caf\u00e9\nfile:///ws/r%FFoot"
    stored.encode("utf-8")
    assert paths_stored(stored) == ["/ws/plain", "/ws/caf\u00e9", odd]
    assert paths_stored("/ws/old/row") == ["/ws/old/row"]
