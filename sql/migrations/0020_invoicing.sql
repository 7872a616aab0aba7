-- The marts as an analyst reads them (with 0019-0024, one per area): every view ordered, so a bare
-- SELECT * comes back in a stable, meaningful order, with the tenant's slug (and, on documents, name)
-- and the deployment's slug beside their ids. Column sets only grow: every column keeps its name.

CREATE OR REPLACE VIEW marts.tenant_invoices AS
SELECT i.invoice_id, i.invoice_number, i.tenant_id, t.slug AS tenant_slug, t.name AS tenant_name, i.period_start,
       i.period_end, i.document_type, i.correction_seq, i.corrects_invoice_id, i.currency, i.subtotal_minor,
       i.tax_minor, i.total_minor, i.tax_rate, i.tax_label, i.status, i.content_sha256, i.computed_at, i.issued_at
FROM revenue.tenant_invoices i LEFT JOIN staging.tenants t ON t.tenant_id = i.tenant_id
ORDER BY i.period_start, t.slug, i.correction_seq;

CREATE OR REPLACE VIEW marts.tenant_invoice_lines AS
SELECT l.invoice_id, i.invoice_number, i.period_start, i.document_type, i.status, l.line_number, l.kind,
       l.description, l.tenant_id, t.slug AS tenant_slug, l.deployment_id, d.slug AS deployment_slug, l.metric,
       l.add_on_code, l.plan_version_id, l.quantity, l.unit_amount_minor, l.amount_minor, i.currency, l.tax_rate,
       l.service_start, l.service_end, l.usage_period_start, l.subscription_id, l.credit_grant_id, l.line_id
FROM revenue.tenant_invoice_lines l
JOIN revenue.tenant_invoices i ON i.invoice_id = l.invoice_id
LEFT JOIN staging.tenants t ON t.tenant_id = l.tenant_id
LEFT JOIN staging.deployments d ON d.deployment_id = l.deployment_id
ORDER BY i.period_start, t.slug, i.correction_seq, l.line_number;
