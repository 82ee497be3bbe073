"""Files that are not UTF-8 come back in their own encoding, byte for byte: through
``shim recover --out`` and ``--in-place``, and as the server shows them (compare, restore)."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import Editors, journal_settled, stop_editor

LATIN1_COOKIE = "# -*- coding: latin-1 -*-\nname = 'Ã©'\n"
CP1252 = "price = '€ 5'\nquote = “hi”\n"
UTF16 = "naïve = '😀'\r\nend = 1\r\n"
UTF16_BYTES = codecs.BOM_UTF16_LE + UTF16.encode("utf-16-le")


def shim(state_dir: Path, workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    where = ["--state-dir", str(state_dir), "--workspace", str(workspace)]
    return subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", *args, "--json", *where],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def crash_typing_into(
    editors: Editors,
    workspace: Path,
    state_dir: Path,
    name: str,
    data: bytes,
    shown: str,
    typed: str,
) -> str:
    """An editor that decoded ``data`` as ``shown`` types a line at the end, then its server is
    SIGKILLed; returns the buffer recovery must bring back."""
    (workspace / name).write_bytes(data)
    editor = await editors.start(workspace, state_dir)
    uri = editor.open(name, shown)
    editor.type(uri, shown.count("\n"), 0, typed)
    await journal_settled(editor)
    text = editor.docs[uri].source
    editor.kill()
    await editor.client.stop()
    return text


def recover(state_dir: Path, workspace: Path, *args: str) -> dict[str, Any]:
    out = shim(state_dir, workspace, "recover", *args)
    assert out.returncode in (0, 1), out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


async def test_recover_out_writes_a_latin1_cookie_file_byte_for_byte(
    workspace: Path, state_dir: Path, tmp_path: Path, editors: Editors
) -> None:
    data = LATIN1_COOKIE.encode("latin-1")
    assert b"\xc3\xa9" in data
    text = await crash_typing_into(
        editors, workspace, state_dir, "mod.py", data, LATIN1_COOKIE, "ü = 1\n"
    )
    written = recover(state_dir, workspace, "--out", str(tmp_path / "out"))
    target = Path(written["files"][0]["written"])
    assert target.read_bytes() == text.encode("latin-1")
    assert target.read_bytes().startswith(data) and b"\xfc = 1\n" in target.read_bytes()


async def test_recover_in_place_keeps_a_cp1252_file_in_cp1252(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    data = CP1252.encode("cp1252")
    typed = "# \u2018€\u2019\n"  # quotes and the euro sign, all in cp1252
    text = await crash_typing_into(editors, workspace, state_dir, "prices.py", data, CP1252, typed)
    recover(state_dir, workspace, "--in-place")
    assert (workspace / "prices.py").read_bytes() == text.encode("cp1252")


async def test_recover_in_place_keeps_a_utf16_file_in_utf16_with_its_bom(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    text = await crash_typing_into(
        editors, workspace, state_dir, "wide.txt", UTF16_BYTES, UTF16, "more = 'ß'\r\n"
    )
    recover(state_dir, workspace, "--in-place")
    assert (workspace / "wide.txt").read_bytes() == codecs.BOM_UTF16_LE + text.encode("utf-16-le")


async def test_recover_refuses_text_the_file_encoding_cannot_hold(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    data = LATIN1_COOKIE.encode("latin-1")
    await crash_typing_into(
        editors, workspace, state_dir, "mod.py", data, LATIN1_COOKIE, "euro = '€'\n"
    )
    result = recover(state_dir, workspace, "--in-place")
    refused = result["files"][0]["refused"]
    assert "latin-1" in refused and "line 3" in refused and "'€'" in refused
    assert (workspace / "mod.py").read_bytes() == data, "the file is left as it was"
    printed = recover(state_dir, workspace, "--print")
    assert "euro = '€'" in printed["files"][0]["text"], "the text is still there to take"


async def test_non_utf8_files_opened_unchanged_leave_nothing_to_recover(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "mod.py").write_bytes(LATIN1_COOKIE.encode("latin-1"))
    (workspace / "prices.py").write_bytes(CP1252.encode("cp1252"))
    (workspace / "wide.txt").write_bytes(UTF16_BYTES)
    editor = await editors.start(workspace, state_dir)
    editor.open("mod.py", LATIN1_COOKIE)
    editor.open("prices.py", CP1252)
    editor.open("wide.txt", UTF16)
    await journal_settled(editor)
    status = await editor.command("shim.sessionStatus")
    editor.kill()
    await editor.client.stop()
    assert status["openDocuments"] == 3 and status["dirtyDocuments"] == 0
    assert json.loads(shim(state_dir, workspace, "status").stdout)["unrecoveredFiles"] == 0


async def test_compare_and_restore_from_a_checkpoint_show_the_file_characters(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "prices.py").write_bytes(CP1252.encode("cp1252"))
    (workspace / "wide.txt").write_bytes(UTF16_BYTES)
    (workspace / "mod.py").write_bytes(LATIN1_COOKIE.encode("latin-1"))
    (workspace / "buffer.py").write_text("")
    editor = await editors.start(workspace, state_dir)
    buffer_text = "# coding: latin-1\nname = 'é'\n"
    buffer_uri = editor.open("buffer.py", "")
    editor.type(buffer_uri, 0, 0, buffer_text)
    checkpoint = (await editor.command("shim.forceCheckpoint", {"label": "encodings"}))["id"]

    async def compared(name: str) -> str:
        args = {"checkpoint": checkpoint, "uri": editor.uri(name)}
        text: str = (await editor.command("shim.compareWithCheckpoint", args))["text"]
        return text

    assert await compared("prices.py") == CP1252
    assert await compared("wide.txt") == UTF16
    assert await compared("mod.py") == LATIN1_COOKIE
    assert await compared("buffer.py") == buffer_text

    (workspace / "prices.py").write_bytes(b"price = 0\n")
    uri = editor.open("prices.py", "price = 0\n")
    restored = await editor.command(
        "shim.restoreCheckpoint", {"checkpoint": checkpoint, "uri": uri}
    )
    assert restored["applied"] is True
    assert editor.docs[uri].source == CP1252
    await stop_editor(editor)
