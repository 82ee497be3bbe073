"""Files keep their own encoding: decoded as declared or detected, written back byte for byte."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from shim_lsp.workspace.encoding import (
    Unencodable,
    decode,
    detect,
    encode,
    encoding_to_write,
    to_file_bytes,
)

PY = Path("/ws/mod.py")
TXT = Path("/ws/notes.txt")
LATIN1_COOKIE = b"# -*- coding: latin-1 -*-\nname = '\xc3\xa9'\n"


def test_a_latin1_cookie_is_obeyed_and_its_bytes_come_back_as_they_were() -> None:
    text, enc = decode(LATIN1_COOKIE, PY)
    assert text == "# -*- coding: latin-1 -*-\nname = '\u00c3\u00a9'\n"
    assert encode(text, enc) == LATIN1_COOKIE
    assert to_file_bytes(text + "more = 'ü'\n", LATIN1_COOKIE, PY) == LATIN1_COOKIE + (
        "more = 'ü'\n".encode("latin-1")
    )


def test_a_cp1252_file_shows_its_euro_and_quotes_and_is_written_back_in_cp1252() -> None:
    data = "price = '€ 5'\nquote = “hi”\n".encode("cp1252")
    text, enc = decode(data, PY)
    assert text == "price = '€ 5'\nquote = “hi”\n"
    more = text + "# \u2018more\u2019\n"
    assert to_file_bytes(more, data, PY) == more.encode("cp1252")
    assert encode(text, enc) == data


def test_bytes_no_text_encoding_explains_are_kept_as_latin1() -> None:
    data = b"raw = '\x81\x8d\xff'\n"  # 0x81 and 0x8d are holes in cp1252
    text, enc = decode(data, TXT)
    assert encode(text, enc) == data


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_a_bom_file_is_shown_without_its_bom_and_written_back_with_it(
    bom: bytes, codec: str
) -> None:
    original = "naïve = '😀'\r\nend = 1\r\n"
    data = bom + original.encode(codec)
    text, enc = decode(data, TXT)
    assert text == original
    assert encode(text, enc) == data
    assert to_file_bytes(text + "x\r\n", data, TXT) == bom + (original + "x\r\n").encode(codec)


def test_a_cookie_in_a_file_that_is_not_python_is_not_obeyed() -> None:
    text, _enc = decode(LATIN1_COOKIE, TXT)
    assert "name = 'é'" in text


def test_a_cookie_that_lies_falls_back_to_what_the_bytes_are() -> None:
    data = b"# coding: ascii\nname = '\xc3\xa9'\n"
    text, enc = decode(data, PY)
    assert "name = 'é'" in text and encode(text, enc) == data
    text, enc = decode(b"# coding: no-such-codec\nx = '\xc3\xa9'\n", PY)
    assert "x = 'é'" in text


def test_the_cookie_the_text_declares_decides_how_it_is_written() -> None:
    text = "# coding: latin-1\nname = 'é'\n"
    assert to_file_bytes(text, None, PY) == text.encode("latin-1")
    assert to_file_bytes(text, "name = 'é'\n".encode(), PY) == text.encode("latin-1")
    # The cookie was taken out: the file is UTF-8 again, as Python will read it.
    assert to_file_bytes("name = 'é'\n", LATIN1_COOKIE, PY) == "name = 'é'\n".encode()
    assert encoding_to_write("x = 1\n", None, PY) == detect(b"", PY)


def test_text_the_file_encoding_cannot_hold_is_refused_plainly() -> None:
    with pytest.raises(Unencodable) as caught:
        to_file_bytes("# coding: latin-1\nok = 1\nprice = '€'\n", LATIN1_COOKIE, PY)
    message = str(caught.value)
    assert "latin-1" in message.lower() or "iso-8859-1" in message.lower()
    assert "line 3" in message and "'€'" in message and "U+20AC" in message


def test_a_new_file_without_a_cookie_is_utf8_without_bom() -> None:
    assert to_file_bytes("é\n", None, TXT) == "é\n".encode()
    assert to_file_bytes("é\n", b"", TXT) == "é\n".encode()


def test_a_cookie_on_line_two_counts_only_under_a_comment_or_blank_line() -> None:
    under_code = b"x = 1\n# coding: latin-1\ny = '\xc3\xa9'\n"
    assert decode(under_code, PY)[0].endswith("y = 'é'\n")
    under_shebang = b"#!/usr/bin/env python\n# coding: latin-1\ny = '\xc3\xa9'\n"
    text, enc = decode(under_shebang, PY)
    assert text.endswith("y = 'Ã©'\n") and encode(text, enc) == under_shebang


@pytest.mark.parametrize(
    "original", [b"x = 1\n", codecs.BOM_UTF16_LE + "x = 1\n".encode("utf-16-le")]
)
def test_a_lone_surrogate_is_refused_not_written_as_bytes_no_file_can_read(
    original: bytes,
) -> None:
    with pytest.raises(Unencodable, match=r"lone surrogate \(U\+D83D\) at line 2, column 4"):
        to_file_bytes("x = 1\ns='\ud83d'\n", original, Path("u.py"))
