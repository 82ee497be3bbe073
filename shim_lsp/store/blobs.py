"""Content-addressed blobs: sha256 of the raw bytes, zstd-compressed, stored once.

``used_at`` is refreshed on every write that names a blob, so that garbage collection, which
only takes unreferenced blobs older than a grace period, can never race a checkpoint that is
still being written by another process.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable
from typing import NamedTuple

import zstandard

ZSTD_LEVEL = 1
MIN_COMPRESS = 64
_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    """One per thread: a ZstdCompressor must not be used by two threads at once."""
    comp: zstandard.ZstdCompressor | None = getattr(_local, "comp", None)
    if comp is None:
        comp = _local.comp = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return comp


def _decompressor() -> zstandard.ZstdDecompressor:
    dec: zstandard.ZstdDecompressor | None = getattr(_local, "dec", None)
    if dec is None:
        dec = _local.dec = zstandard.ZstdDecompressor()
    return dec


def blob_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode(data: bytes) -> tuple[str, bytes]:
    """Compress unless it does not pay; returns (codec, stored bytes)."""
    if len(data) >= MIN_COMPRESS:
        packed = _compressor().compress(data)
        if len(packed) < len(data):
            return "zstd", packed
    return "raw", data


def decode(codec: str, stored: bytes) -> bytes:
    if codec == "zstd":
        return _decompressor().decompress(stored)
    if codec == "zlib":
        return zlib.decompress(stored)
    if codec == "raw":
        return bytes(stored)
    raise ValueError(f"unknown blob codec {codec!r}")


def buffer_bytes(text: str) -> bytes:
    """How an editor buffer is stored: UTF-8, keeping any lone surrogate the client sent."""
    return text.encode("utf-8", "surrogatepass")


def buffer_text(data: bytes) -> str:
    """The buffer text that ``buffer_bytes`` stored, exactly."""
    return data.decode("utf-8", "surrogatepass")


class Prepared(NamedTuple):
    """A blob hashed and compressed off the writer thread, ready to insert (a tuple: a
    first checkpoint makes one per file)."""

    hash: str
    size: int
    codec: str
    stored: bytes


def prepare(data: bytes, digest: str | None = None) -> Prepared:
    codec, stored = encode(data)
    return Prepared(digest or blob_hash(data), len(data), codec, stored)


def put_many(conn: sqlite3.Connection, items: Iterable[Prepared]) -> None:
    """Store prepared blobs inside the caller's transaction (a known hash is only touched)."""
    now = time.time()
    conn.executemany(
        "INSERT INTO blobs(hash, size, codec, data, used_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(hash) DO UPDATE SET used_at=excluded.used_at",
        ((b.hash, b.size, b.codec, b.stored, now) for b in items),
    )


def touch(conn: sqlite3.Connection, digests: Iterable[str]) -> None:
    now = time.time()
    conn.executemany("UPDATE blobs SET used_at=? WHERE hash=?", ((now, d) for d in digests))


def known(conn: sqlite3.Connection, digests: Iterable[str]) -> set[str]:
    found: set[str] = set()
    batch = list(digests)
    for i in range(0, len(batch), 500):
        chunk = batch[i : i + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0] for r in conn.execute(f"SELECT hash FROM blobs WHERE hash IN ({marks})", chunk)
        )
    return found


def get(conn: sqlite3.Connection, digest: str) -> bytes | None:
    row = conn.execute("SELECT codec, data FROM blobs WHERE hash=?", (digest,)).fetchone()
    if row is None:
        return None
    data = decode(row[0], row[1])
    if blob_hash(data) != digest:
        raise ValueError(f"blob {digest[:12]} is damaged (content does not match its hash)")
    return data
