-- The marts as an analyst reads them (with 0019-0024, one per area): every view ordered, so a bare
-- SELECT * comes back in a stable, meaningful order, with the tenant's slug (and, on documents, name)
-- and the deployment's slug beside their ids. Column sets only grow: every column keeps its name.

CREATE OR REPLACE VIEW marts.payments AS
SELECT p.payment_id, p.invoice_id, p.tenant_id, t.slug AS tenant_slug, p.stripe_invoice_id, p.amount_minor,
       p.currency, p.paid_at, p.recorded_at
FROM revenue.payments p LEFT JOIN staging.tenants t ON t.tenant_id = p.tenant_id
ORDER BY p.paid_at, p.payment_id;

CREATE OR REPLACE VIEW marts.ledger_entries AS
SELECT e.transaction_id, e.entry_number, e.posted_at, e.tenant_id, t.slug AS tenant_slug, e.account, e.debit_minor,
       e.credit_minor, e.currency, e.source_type, e.source_id, e.description
FROM revenue.ledger_entries e LEFT JOIN staging.tenants t ON t.tenant_id = e.tenant_id
ORDER BY e.posted_at, e.transaction_id, e.entry_number;

CREATE OR REPLACE VIEW marts.receivables AS
SELECT e.tenant_id, t.slug AS tenant_slug, e.currency, sum(e.debit_minor) - sum(e.credit_minor) AS receivable_minor
FROM revenue.ledger_entries e LEFT JOIN staging.tenants t ON t.tenant_id = e.tenant_id
WHERE e.account = 'accounts_receivable' GROUP BY ALL ORDER BY t.slug, e.currency;
