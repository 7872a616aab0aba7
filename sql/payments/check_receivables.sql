-- Per tenant: our open receivable for documents pushed to Stripe (plus payments and reversals)
-- against what Stripe still expects: amount_remaining of the pushed invoices, less the tenant's
-- Stripe credit balance (post-payment credit notes are credited to it, and Stripe applies it to
-- the next invoice it finalizes), which our ledger keeps in the same receivable.
WITH ours AS (
    SELECT tenant_id, sum(debit_minor - credit_minor) AS open FROM revenue.ledger_entries
    WHERE account = 'accounts_receivable'
      AND (source_type <> 'document' OR source_id IN (SELECT invoice_id FROM revenue.stripe_documents))
    GROUP BY 1
), theirs AS (
    SELECT d.tenant_id, sum(s.amount_remaining_minor - s.post_payment_credit_notes_minor
                            + s.customer_credit_applied_minor) AS open
    FROM revenue.stripe_invoice_status s
    JOIN revenue.stripe_documents d ON d.stripe_object_id = s.stripe_invoice_id GROUP BY 1
)
SELECT coalesce(o.tenant_id, t.tenant_id) AS tenant_id, coalesce(o.open, 0) AS ours, coalesce(t.open, 0) AS stripe
FROM ours o FULL OUTER JOIN theirs t USING (tenant_id)
WHERE coalesce(o.open, 0) <> coalesce(t.open, 0)
ORDER BY 1
