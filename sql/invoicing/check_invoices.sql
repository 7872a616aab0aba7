-- Findings of the invoice checks for [$window_start, $window_end), one row per finding.
SELECT 'total_mismatch' AS finding, invoice_number AS subject,
       'total ' || total_minor || ' <> subtotal ' || subtotal_minor || ' + tax ' || tax_minor AS detail
FROM revenue.tenant_invoices
WHERE period_start >= $window_start AND period_start < $window_end AND total_minor <> subtotal_minor + tax_minor
UNION ALL
SELECT 'subtotal_mismatch', i.invoice_number,
       'subtotal ' || i.subtotal_minor || ' <> lines ' || coalesce(l.lines, 0) || ', tax ' || i.tax_minor
       || ' <> tax lines ' || coalesce(l.tax, 0)
FROM revenue.tenant_invoices i
LEFT JOIN (SELECT invoice_id, sum(amount_minor) FILTER (WHERE kind <> 'tax') AS lines,
                  sum(amount_minor) FILTER (WHERE kind = 'tax') AS tax
           FROM revenue.tenant_invoice_lines GROUP BY invoice_id) l USING (invoice_id)
WHERE i.period_start >= $window_start AND i.period_start < $window_end
  AND (i.subtotal_minor <> coalesce(l.lines, 0) OR i.tax_minor <> coalesce(l.tax, 0))
UNION ALL
SELECT 'duplicate_invoice', tenant_id || ' ' || strftime(period_start, '%Y-%m'), count(*) || ' invoices'
FROM revenue.tenant_invoices
WHERE period_start >= $window_start AND period_start < $window_end AND document_type = 'invoice'
GROUP BY tenant_id, period_start HAVING count(*) > 1
UNION ALL
SELECT 'negative_total', invoice_number, 'total ' || total_minor || ' on a ' || document_type
FROM revenue.tenant_invoices
WHERE period_start >= $window_start AND period_start < $window_end AND total_minor < 0
  AND document_type <> 'credit_note'
UNION ALL
SELECT 'subscription_not_invoiced', s.subscription_id, d.slug || ' active in ' || strftime(m.period_start, '%Y-%m')
       || ' has neither an invoice line nor an exclusion'
FROM range(CAST($window_start AS TIMESTAMP), CAST($window_end AS TIMESTAMP), INTERVAL 1 MONTH) m(period_start)
JOIN staging.subscriptions s ON s.started_at < m.period_start + INTERVAL 1 MONTH
     AND coalesce(s.canceled_at, m.period_start + INTERVAL 1 MONTH) > m.period_start
JOIN staging.deployments d USING (deployment_id)
WHERE NOT EXISTS (SELECT 1 FROM revenue.tenant_invoice_lines l JOIN revenue.tenant_invoices i USING (invoice_id)
                  WHERE l.subscription_id = s.subscription_id AND i.period_start = m.period_start)
  AND NOT EXISTS (SELECT 1 FROM revenue.invoice_exclusions x
                  WHERE x.subscription_id = s.subscription_id AND x.period_start = m.period_start)
ORDER BY finding, subject;
