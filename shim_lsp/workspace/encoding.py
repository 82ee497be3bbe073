"""A file's bytes to the text an editor shows, and that text back to the same bytes.

SHIM stores bytes; text exists only at the edges, where a file is compared with a buffer or a
recovered buffer is written out. Both directions use one judgement of the file's encoding:

1. a byte-order mark (UTF-8, UTF-16, UTF-32), which editors hide and SHIM puts back;
2. in Python source, a PEP 263 coding cookie (read by the stdlib's ``tokenize``), unless the
   bytes do not decode that way;
3. else UTF-8, else Windows-1252 (what a "Latin-1" file usually is), else Latin-1, which
   decodes any bytes. Each is a strict decode, so whatever decodes also encodes back to the
   very same bytes.
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

PYTHON_SUFFIXES = frozenset({".py", ".pyw", ".pyi"})

BOMS = (  # UTF-32-LE's mark begins with UTF-16-LE's: longest first
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

UNDECLARED = ("utf-8", "cp1252", "latin-1")
"""Tried in turn on a file with no mark and no cookie; Latin-1 never fails."""

_BLANK = re.compile(rb"^[ \t\f]*(?:[#\r\n]|$)")
_TWO_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?(?:[^\r\n]*(?:\r\n|\r|\n)?)?")
"""The first two lines, as ``bytes.splitlines`` splits them, found without splitting the
rest (a workspace run reads the cookies of every file with findings)."""
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


@dataclass(frozen=True)
class Encoding:
    codec: str
    """Python's codec for the text after the mark."""
    bom: bytes = b""
    declared: str = ""
    """The name a coding cookie gives it, as the file spells it ("" without a cookie)."""

    @property
    def label(self) -> str:
        if self.declared:
            return f"{self.declared} (declared in the file)"
        name = codecs.lookup(self.codec).name
        return f"{name} with a BOM" if self.bom else name


UTF8 = Encoding("utf-8")


class Unencodable(ValueError):
    """The text holds a character its file's encoding cannot write; the message says which."""


def is_python(path: Path | None) -> bool:
    return path is not None and path.suffix.lower() in PYTHON_SUFFIXES


def _cookie(data: bytes) -> Encoding | None:
    """The encoding a PEP 263 cookie in the first two lines names (even UTF-8), else None."""
    head = _TWO_LINES.match(data)
    lines = head[0].splitlines(keepends=True) if head else []
    if not lines:
        return None
    cookie = _COOKIE.match(lines[0])
    if cookie is None and len(lines) > 1 and _BLANK.match(lines[0]):  # PEP 263: line 2 counts
        cookie = _COOKIE.match(lines[1])  # only under a comment or blank line
    if cookie is None:
        return None
    try:  # tokenize checks and normalises the name ("latin-1" is "iso-8859-1")
        found, _ = tokenize.detect_encoding(io.BytesIO(b"".join(lines)).readline)
    except SyntaxError:  # an unknown codec, or a cookie that contradicts a BOM
        return None
    return Encoding("utf-8" if found == "utf-8-sig" else found, declared=cookie[1].decode())


def _undeclared(data: bytes) -> Encoding:
    if data.isascii():  # UTF-8, at once (a strict decode of a large file takes a while)
        return UTF8
    for codec in UNDECLARED:
        try:
            data.decode(codec)
        except UnicodeDecodeError:
            continue
        return Encoding(codec)
    raise AssertionError("latin-1 decodes any bytes")


def detect(data: bytes, path: Path | None) -> Encoding:
    """The encoding of a file's bytes: its mark, its cookie (Python), else the first that fits."""
    return _marked(data, path) or _undeclared(data)


def _marked(data: bytes, path: Path | None) -> Encoding | None:
    """The encoding a file's mark, or its cookie (Python), says, if one does and it fits."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return Encoding(codec, bom)
    if is_python(path):
        declared = _cookie(data)
        if declared is not None:
            try:
                data.decode(declared.codec)
            except UnicodeDecodeError:
                pass  # the cookie lies; believe the bytes, as an editor would
            else:
                return declared
    return None


def decode(data: bytes, path: Path | None) -> tuple[str, Encoding]:
    """The text an editor shows for a file's bytes (no BOM), and the encoding it was read with."""
    encoding = _marked(data, path)
    if encoding is None:  # the first that fits, decoded once
        for codec in UNDECLARED:
            try:
                return data.decode(codec), UTF8 if codec == "utf-8" else Encoding(codec)
            except UnicodeDecodeError:
                continue
        raise AssertionError("latin-1 decodes any bytes")
    body = data[len(encoding.bom) :]
    try:
        return body.decode(encoding.codec), encoding
    except UnicodeDecodeError:  # a mark followed by bytes that do not fit it
        fallback = _undeclared(data)
        return data.decode(fallback.codec), fallback


def encode(text: str, encoding: Encoding) -> bytes:
    """``text`` as the bytes of a file in ``encoding``, its mark first."""
    # A lone surrogate (an editor can send one) is no character: no file can hold it, and
    # "surrogatepass" bytes would make a file Python cannot read. It is refused like any other.
    try:
        return encoding.bom + text.encode(encoding.codec)
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        column = exc.start - (text.rfind("\n", 0, exc.start) + 1) + 1
        char = text[exc.start]
        where = f"at line {line}, column {column}"
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise Unencodable(
                f"a lone surrogate (U+{ord(char):04X}) {where} is no character: no file can hold it"
            ) from None
        raise Unencodable(
            f"{char!r} (U+{ord(char):04X}) {where} cannot be written in the file's encoding, "
            f"{encoding.label}"
        ) from None


def encoding_to_write(text: str, original: bytes | None, path: Path | None) -> Encoding:
    """How to write ``text`` over a file that held ``original`` (None: no file).

    The cookie the text declares wins, since that is how Python will read the file; else the
    original's mark or its undeclared encoding; else UTF-8. An original whose cookie the text
    no longer carries is written as UTF-8, Python's default.
    """
    before = detect(original, path) if original else UTF8
    if is_python(path):
        declared = _cookie(text.encode("utf-8", "surrogatepass"))
        if declared is not None:
            if before.codec == "utf-8" and declared.codec == "utf-8":  # keep a UTF-8 mark
                return Encoding("utf-8", before.bom, declared.declared)
            return declared
        if before.declared:
            return UTF8
    return before


def to_file_bytes(text: str, original: bytes | None, path: Path | None) -> bytes:
    """The bytes to write for ``text`` over ``original``; raises Unencodable."""
    return encode(text, encoding_to_write(text, original, path))
