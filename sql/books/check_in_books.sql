-- Every document of the window that should be in the books, and what the target holds for it:
-- a finding when it is missing, or its recorded total or tax differs from the document's.
WITH expected AS (
    SELECT 'payable' AS document_kind, i.invoice_uuid AS document_id, i.period_start,
           sum(l.amount_minor) AS total_minor, coalesce(sum(l.amount_minor) FILTER (WHERE l.is_tax), 0) AS tax_minor
    FROM ingest.do_invoices i JOIN ingest.do_cost_lines l ON l.period_start = i.period_start
    WHERE i.status = 'issued' AND i.period_start >= $window_start AND i.period_start < $window_end
    GROUP BY ALL
    UNION ALL
    SELECT 'receivable', invoice_id, period_start, total_minor, tax_minor
    FROM revenue.tenant_invoices
    WHERE status <> 'draft' AND period_start >= $window_start AND period_start < $window_end)
SELECT e.document_kind, e.document_id, e.total_minor, e.tax_minor, p.total_minor AS booked_total_minor,
       p.tax_minor AS booked_tax_minor
FROM expected e
LEFT JOIN books.pushed_documents p
       ON p.target = $target AND p.document_kind = e.document_kind AND p.document_id = e.document_id
WHERE e.document_kind = $document_kind
  AND (p.document_id IS NULL OR p.total_minor <> e.total_minor OR p.tax_minor <> e.tax_minor)
ORDER BY e.period_start, e.document_id
