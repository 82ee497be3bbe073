"""Whether a file may mention a name, without parsing it: the cheap test before the parse."""

from __future__ import annotations

import io
import tokenize
import unicodedata


def mentions(source: bytes, *words: str) -> bool:
    """Whether ``source`` may contain one of the identifiers ``words``. An ASCII word is
    looked for as bytes; where that fails in a file that is not ASCII, every word is looked
    for in the file's text, decoded once and NFKC-normalised as Python reads identifiers (a
    latin-1 file spells ``Üser`` in one byte, ``U`` with a combining diaeresis is the same
    name, and so is ``ﬁnd`` with a ligature to ``find``). A file that does not decode may:
    the parse will say."""
    if any(word.isascii() and word.encode() in source for word in words):
        return True
    if source.isascii() and all(word.isascii() for word in words):
        return False
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = unicodedata.normalize("NFKC", source.decode(encoding))
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return True
    return any(unicodedata.normalize("NFKC", word) in text for word in words)
