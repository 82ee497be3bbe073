"""Reading LSP frames from a byte stream that may hold garbage.

pygls's reader trusts every ``Content-Length``: after one malformed frame the unread body
swallows the next header and nothing is ever read again, and a huge length makes it wait for
gigabytes or die. This reader sits under pygls's (it is the ``stdin`` pygls reads) and hands it
only well-formed frames: header names are matched case-insensitively, a frame whose length is
not a number, is zero or is over the cap is skipped up to the next header, and a body that
turns out to hold the next header (announced longer than it was) is cut there. Whatever it
skips is handed to ``on_bad_frame`` so that a request id in it can still get its answer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import BinaryIO

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 128 * 1024 * 1024
"""Larger than any buffer an editor syncs (VS Code stops at 50 MB), JSON escaping included."""
MAX_HEADER_BYTES = 8192
KEPT_BYTES = 4096
"""How much of a skipped stretch is kept to look for a request id in it."""

_NAME = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
_END = re.compile(rb"\r?\n\r?\n")
_HEADER_LINES = re.compile(rb"(?:[!-9;-~]+:[^\r\n]*\r?\n)*\s*")
_OPENING = re.compile(rb"[{\[]")
_ID = re.compile(rb'"id"\s*:\s*(-?\d{1,19}|"(?:[^"\\]|\\.){0,200}")')


def readable_id(data: bytes | None) -> int | str | None:
    """The top-level ``id`` of a message that could not be decoded, when one can be read.

    Only the part of the first object before any nested value is searched, so an ``id`` in
    the parameters is never taken for the request's.
    """
    if not data:
        return None
    start = data.find(b"{")
    if start < 0:
        return None
    nested = _OPENING.search(data, start + 1)
    found = _ID.search(data, start, nested.start() if nested else len(data))
    if found is None:
        return None
    value = json.loads(found.group(1))
    return value if isinstance(value, int | str) else None


class FrameReader:
    """A blocking ``readline``/``read`` stream of well-formed frames, for pygls's reader."""

    def __init__(
        self,
        raw: BinaryIO,
        on_bad_frame: Callable[[str, bytes], None],
        max_length: int = MAX_FRAME_BYTES,
    ) -> None:
        self._raw = raw
        self._on_bad_frame = on_bad_frame
        self._max_length = max_length
        self._buf = bytearray()
        self._eof = False
        self._lines: list[bytes] = []
        self._body = b""
        self._skipped = bytearray()
        self._skipped_total = 0
        self._reason: str | None = None
        self.last_body: bytes | None = None
        """The body pygls is decoding now: a message that fails is answered from it."""
        self.on_eof: Callable[[], None] | None = None
        """Called once, from the reading thread, when the client closes its end."""

    # --- what pygls calls ------------------------------------------------------------------

    def readline(self) -> bytes:
        if self._lines:
            return self._lines.pop()
        body = self._next_frame()
        if body is None:
            return b""
        self._body = self.last_body = body
        self._lines = [b"\r\n"]
        return b"Content-Length: %d\r\n" % len(body)

    def read(self, _n: int) -> bytes:
        body, self._body = self._body, b""
        return body

    # --- frames ----------------------------------------------------------------------------

    def _fill(self) -> bool:
        if self._eof:
            return False
        read1 = getattr(self._raw, "read1", None)
        chunk = read1(65536) if read1 is not None else self._raw.read(1)
        if not chunk:
            self._eof = True
            if self.on_eof is not None:
                self.on_eof()
            return False
        self._buf += chunk
        return True

    def _skip(self, count: int) -> None:
        room = KEPT_BYTES - len(self._skipped)
        if room > 0:
            self._skipped += self._buf[: min(count, room)]
        self._skipped_total += count
        del self._buf[:count]

    def _bad(self, reason: str) -> None:
        """A frame is wrong; its body (if any) is skipped with it up to the next header."""
        self._report_skipped()
        self._reason = reason

    def _report_skipped(self) -> None:
        skipped, reason = bytes(self._skipped), self._reason
        self._skipped.clear()
        self._skipped_total = 0
        self._reason = None
        if reason is None and _HEADER_LINES.fullmatch(skipped):
            return  # other header fields before Content-Length, or blank lines: not garbage
        self._on_bad_frame(reason or "bytes outside any frame were skipped", skipped)

    def _next_frame(self) -> bytes | None:
        while True:
            name = _NAME.search(self._buf)
            if name is None:
                self._skip(max(0, len(self._buf) - 32))  # a name may be cut across reads
                if not self._fill():
                    self._skip(len(self._buf))
                    self._report_skipped()
                    return None
                continue
            if name.start():
                self._skip(name.start())
            name_end = name.end() - name.start()
            end = _END.search(self._buf, 0, MAX_HEADER_BYTES)
            if end is None:
                if len(self._buf) >= MAX_HEADER_BYTES:
                    self._bad("a header that does not end")
                    self._skip(name_end)
                elif not self._fill():
                    self._bad("the stream ended inside a header")
                    self._skip(len(self._buf))
                    self._report_skipped()
                    return None
                continue
            self._report_skipped()
            value = bytes(self._buf[name_end : end.start()]).split(b"\n", 1)[0].strip()
            del self._buf[: end.end()]
            if not value.isdigit() or int(value) == 0:
                self._bad(f"Content-Length {value.decode('latin-1')!r} is not a positive number")
                continue
            length = int(value)
            if length > self._max_length:
                self._bad(f"Content-Length {length} is over SHIM's cap of {self._max_length} bytes")
                continue
            while len(self._buf) < length:
                if not self._fill():
                    self._bad(f"the stream ended {length - len(self._buf)} bytes short of a body")
                    self._skip(len(self._buf))
                    self._report_skipped()
                    return None
            body = bytes(self._buf[:length])
            del self._buf[:length]
            # JSON never holds a bare header name followed by a raw line break: the body was
            # shorter than announced and the next frame starts there.
            cut = _NAME.search(body) if b"\n" in body else None
            if cut is not None:
                self._buf[0:0] = body[cut.start() :]
                self._bad(f"a body shorter than its Content-Length {length}")
                self._skipped += body[: min(cut.start(), KEPT_BYTES)]
                continue
            return body
