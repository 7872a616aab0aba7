-- Issue the drafts numbered in Python (`issued_now`: invoice_id, invoice_number, content_sha256), all in
-- the caller's transaction: the series counters move to their last number given, each draft becomes
-- issued with its number and content hash, and the issue log gets one row per document.
INSERT INTO revenue.document_number_series
SELECT unnest($series) AS series, unnest($last_numbers) AS last_number
ON CONFLICT (series) DO UPDATE SET last_number = excluded.last_number;
UPDATE revenue.tenant_invoices SET invoice_number = n.invoice_number, status = $issued, issued_at = $issued_at,
    content_sha256 = n.content_sha256
FROM issued_now n WHERE tenant_invoices.invoice_id = n.invoice_id AND tenant_invoices.status = $draft;
INSERT INTO revenue.invoice_issue_log
SELECT invoice_id, content_sha256, $issued_at, $issued_by FROM issued_now;
