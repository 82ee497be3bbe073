"""Whether a file may mention a name, without parsing it: the cheap test before the parse."""

from __future__ import annotations

import io
import tokenize
import unicodedata


def mentions(source: bytes, word: str) -> bool:
    """Whether ``source`` may contain the identifier ``word``. An ASCII word is looked for
    as bytes in an ASCII file; otherwise in the file's decoded text, NFKC-normalised as
    Python reads identifiers (a latin-1 file spells ``Üser`` in one byte, ``U`` with a
    combining diaeresis is the same name, and so is ``ﬁnd`` with a ligature to ``find``).
    A file that does not decode may: the parse will say."""
    if word.isascii() and (word.encode() in source or source.isascii()):
        return word.encode() in source
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return True
    return unicodedata.normalize("NFKC", word) in unicodedata.normalize("NFKC", text)
