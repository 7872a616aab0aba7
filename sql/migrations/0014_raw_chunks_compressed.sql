-- Raw chunks are stored zlib-compressed from this release (billing_assets/ingest/raw_store.py): an
-- invoice CSV shrinks about tenfold, and with it the memory DuckDB spends writing and checkpointing it.
-- `encoding` says how each chunk's bytes are stored; chunks from before stay as they were ('identity').
-- The reassembling view goes: SQL cannot inflate zlib; `billing-assets raw-document SHA256` replaces it.
DROP VIEW ingest.raw_document_content;
CREATE TABLE ingest.raw_document_chunks_v2 (
    sha256 VARCHAR NOT NULL, chunk_index INTEGER NOT NULL CHECK (chunk_index >= 0),
    encoding VARCHAR NOT NULL CHECK (encoding IN ('identity', 'zlib')), content BLOB NOT NULL,
    PRIMARY KEY (sha256, chunk_index));
INSERT INTO ingest.raw_document_chunks_v2
SELECT sha256, chunk_index, 'identity', content FROM ingest.raw_document_chunks;
DROP TABLE ingest.raw_document_chunks;
ALTER TABLE ingest.raw_document_chunks_v2 RENAME TO raw_document_chunks;
