-- Raw documents' bytes in chunks of at most 4 MiB (billing_assets/ingest/raw_store.py), so a 200 MB
-- invoice CSV is written and read back a chunk at a time instead of as one value held in memory.
-- Identical bytes are stored once, whatever document they came with.
CREATE TABLE ingest.raw_document_chunks (
    sha256 VARCHAR NOT NULL, chunk_index INTEGER NOT NULL CHECK (chunk_index >= 0), content BLOB NOT NULL,
    PRIMARY KEY (sha256, chunk_index));
INSERT INTO ingest.raw_document_chunks
SELECT DISTINCT ON (sha256) sha256, 0, content FROM ingest.raw_documents WHERE size_bytes > 0 ORDER BY sha256;

CREATE TABLE ingest.raw_documents_v2 (
    kind VARCHAR NOT NULL, doc_key VARCHAR NOT NULL, page INTEGER NOT NULL, sha256 VARCHAR NOT NULL,
    period VARCHAR, source VARCHAR NOT NULL, uri VARCHAR NOT NULL, content_type VARCHAR,
    size_bytes BIGINT NOT NULL CHECK (size_bytes >= 0), fetched_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, doc_key, page, sha256));
INSERT INTO ingest.raw_documents_v2 BY NAME SELECT * EXCLUDE (content) FROM ingest.raw_documents;
DROP TABLE ingest.raw_documents;
ALTER TABLE ingest.raw_documents_v2 RENAME TO raw_documents;

-- A document's bytes reassembled (for a person reading one document; the pipeline streams the chunks).
CREATE OR REPLACE VIEW ingest.raw_document_content AS
SELECT d.kind, d.doc_key, d.page, d.sha256, d.uri,
       coalesce((SELECT list_reduce(list(c.content ORDER BY c.chunk_index), lambda a, b: a || b)
                 FROM ingest.raw_document_chunks c WHERE c.sha256 = d.sha256), ''::BLOB) AS content
FROM ingest.raw_documents d;
