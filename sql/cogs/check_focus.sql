-- FOCUS reconciliation: SUM(BilledCost) per InvoiceId must equal the invoice's amount.
SELECT f."InvoiceId", sum(f."BilledCost") AS billed, i.amount_minor * 0.01 AS invoice
FROM cogs.focus_cost_rows f JOIN ingest.do_invoices i ON i.invoice_uuid = f."x_InvoiceUuid"
WHERE f."BillingPeriodStart" >= $window_start AND f."BillingPeriodStart" < $window_end AND i.amount_minor IS NOT NULL
GROUP BY f."InvoiceId", i.amount_minor
HAVING sum(f."BilledCost") <> i.amount_minor * 0.01
ORDER BY 1
