"""Raw DigitalOcean documents kept verbatim in the warehouse, written and read a chunk at a time.

Why chunks: DuckDB holds a BLOB value whole in memory on the way in and out (a 200 MB CSV costs about
1 GB to insert as one value and 650 MB to fetch), so a document's bytes are stored as 4 MiB chunks in
`ingest.raw_document_chunks`, keyed by their SHA-256, and read back as a stream. Why zlib: DuckDB's
buffer pool keeps what it wrote (uncompressed chunks of a 200 MB CSV left ~350 MB resident); invoice
CSVs compress about twelvefold. The SHA-256 is of the verbatim bytes, never of the stored form.
Identical bytes are stored once; `ingest.raw_documents` says which document, page and fetch they belong to.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from datetime import datetime

from billing_assets.ingest.documents import CHUNK_BYTES, RawDocument
from billing_assets.periods import naive
from billing_assets.warehouse import transaction


class MissingRawDocument(LookupError):
    """A document the warehouse should hold is not there (deleted by hand, or a broken restore)."""


def store_raw(conn, docs: list[RawDocument], period: str | None = None) -> None:
    """Keep every document verbatim; identical bytes are stored once (first fetch wins).

    Each chunk is committed on its own (DuckDB keeps uncommitted values in memory), and the document's
    row last: a document is in `ingest.raw_documents` only once all its chunks are. Chunks left by a
    crash before that are harmless and are completed by the next store of the same bytes. So call it
    outside any transaction of the caller's."""
    for doc in docs:
        stored = conn.execute("SELECT count(*) FROM ingest.raw_documents WHERE sha256 = ?",
                              [doc.sha256]).fetchall()[0][0]
        if not stored:
            for index, chunk in enumerate(doc.chunks()):
                with transaction(conn):
                    conn.execute("INSERT OR IGNORE INTO ingest.raw_document_chunks (sha256, chunk_index, "
                                 "encoding, content) VALUES (?, ?, 'zlib', ?)", [doc.sha256, index, zlib.compress(chunk)])
        conn.execute(
            "INSERT OR IGNORE INTO ingest.raw_documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [doc.kind, doc.key, doc.page, doc.sha256, period, doc.source, doc.uri, doc.content_type, doc.size,
             naive(doc.fetched_at)])


class _ChunkReader(io.RawIOBase):
    """A read-only binary stream over one document's chunks, fetched one at a time."""

    def __init__(self, conn, sha256: str, chunk_count: int) -> None:
        self._conn, self._sha, self._count = conn, sha256, chunk_count
        self._next, self._buffer = 0, memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer and self._next < self._count:
            rows = self._conn.execute("SELECT encoding, content FROM ingest.raw_document_chunks WHERE sha256 = ? "
                                      "AND chunk_index = ?", [self._sha, self._next]).fetchall()
            if not rows:
                raise MissingRawDocument(f"chunk {self._next} of raw document {self._sha[:12]} is missing "
                                         "from ingest.raw_document_chunks")
            encoding, content = rows[0]
            self._buffer = memoryview(zlib.decompress(content) if encoding == "zlib" else content)
            self._next += 1
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def open_raw(conn, sha256: str) -> io.BufferedReader:
    """The stored bytes of one document version as a binary stream (bounded memory)."""
    count = conn.execute("SELECT count(*) FROM ingest.raw_document_chunks WHERE sha256 = ?", [sha256]).fetchall()[0][0]
    size = conn.execute("SELECT max(size_bytes) FROM ingest.raw_documents WHERE sha256 = ?", [sha256]).fetchall()[0][0]
    if size is None or (size > 0 and count == 0):
        raise MissingRawDocument(f"raw document {sha256[:12]} is missing from ingest.raw_documents")
    return io.BufferedReader(_ChunkReader(conn, sha256, count), buffer_size=CHUNK_BYTES)


def raw_bytes(conn, sha256: str) -> bytes:
    """One whole document at once: for small documents and tests (large ones go through open_raw)."""
    with open_raw(conn, sha256) as stream:
        return stream.read()


def resolve_sha256(conn, prefix: str) -> str:
    """The one stored document version whose SHA-256 starts with `prefix` (at least 8 hex digits)."""
    prefix = prefix.strip().lower()
    if len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix):
        raise ValueError(f"{prefix!r} is not a SHA-256 prefix of at least 8 hex digits")
    found = [r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM ingest.raw_documents WHERE starts_with(sha256, ?) "
                                        "ORDER BY 1 LIMIT 2", [prefix]).fetchall()]
    if len(found) != 1:
        raise MissingRawDocument(f"no stored document has a SHA-256 starting {prefix}" if not found else
                                 f"SHA-256 prefix {prefix} is ambiguous ({found[0][:16]}…, {found[1][:16]}…): give more")
    return found[0]


def raw_pages(conn, kind: str, key: str, sha_list: str | None) -> Iterator[tuple[bytes, str]]:
    """The stored pages of one paginated JSON document (sha256s joined by ',' in page order), one at a time."""
    for page, sha in enumerate(sha_list.split(",") if sha_list else [], start=1):
        rows = conn.execute("SELECT uri FROM ingest.raw_documents WHERE kind = ? AND doc_key = ? AND page = ? "
                            "AND sha256 = ?", [kind, key, page, sha]).fetchall()
        if not rows:
            raise MissingRawDocument(f"raw {kind} {key} page {page} ({sha[:12]}) is missing from ingest.raw_documents")
        yield raw_bytes(conn, sha), rows[0][0]


def raw_uri(conn, kind: str, key: str, sha256: str) -> str:
    rows = conn.execute("SELECT uri FROM ingest.raw_documents WHERE kind = ? AND doc_key = ? AND sha256 = ?",
                        [kind, key, sha256]).fetchall()
    if not rows:
        raise MissingRawDocument(f"raw {kind} {key} ({sha256[:12]}) is missing from ingest.raw_documents")
    return rows[0][0]


def first_fetched(conn, docs: list[RawDocument]) -> datetime | None:
    """When these bytes were first fetched (a re-fetch of identical bytes does not move it)."""
    if not docs:
        return None
    return conn.execute("SELECT min(fetched_at) FROM ingest.raw_documents WHERE sha256 IN (SELECT unnest(?))",
                        [[d.sha256 for d in docs]]).fetchall()[0][0]
