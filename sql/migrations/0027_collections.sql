-- Collections (issue 20): the daily receivables aging and the dunning suggestions that follow from
-- it. Each day's rows replace that day's (as_of_date), so a re-run of a day is idempotent and past
-- days stay for trend reading.
CREATE TABLE revenue.receivables_aging (
    as_of_date DATE NOT NULL, invoice_id VARCHAR NOT NULL, invoice_number VARCHAR NOT NULL,
    document_type VARCHAR NOT NULL, tenant_id VARCHAR NOT NULL, currency VARCHAR NOT NULL,
    total_minor BIGINT NOT NULL, open_minor BIGINT NOT NULL CHECK (open_minor > 0), open_usd_minor BIGINT,
    due_date DATE NOT NULL, days_past_due INTEGER NOT NULL,
    bucket VARCHAR NOT NULL CHECK (bucket IN ('current', '1-30', '31-60', '61-90', '90+')),
    PRIMARY KEY (as_of_date, invoice_id));

CREATE TABLE revenue.dunning_suggestions (
    as_of_date DATE NOT NULL, tenant_id VARCHAR NOT NULL, suggestion VARCHAR NOT NULL
        CHECK (suggestion IN ('active', 'past_due', 'suspend', 'churn_review')),
    reason VARCHAR NOT NULL, oldest_days_past_due INTEGER NOT NULL, open_usd_minor BIGINT NOT NULL,
    open_documents INTEGER NOT NULL, failed_payments INTEGER NOT NULL, open_disputes INTEGER NOT NULL,
    deployment_states VARCHAR NOT NULL, differs_from_deployments VARCHAR,
    PRIMARY KEY (as_of_date, tenant_id));

CREATE OR REPLACE VIEW marts.receivables_aging AS
SELECT a.as_of_date, a.tenant_id, t.slug AS tenant_slug, a.invoice_number, a.document_type, a.currency,
       a.total_minor, a.open_minor, a.open_usd_minor, a.due_date, a.days_past_due, a.bucket, a.invoice_id
FROM revenue.receivables_aging a LEFT JOIN staging.tenants t ON t.tenant_id = a.tenant_id
ORDER BY a.as_of_date, t.slug, a.due_date, a.invoice_number;

CREATE OR REPLACE VIEW marts.dunning_suggestions AS
SELECT s.as_of_date, s.tenant_id, t.slug AS tenant_slug, s.suggestion, s.reason, s.oldest_days_past_due,
       s.open_usd_minor, s.open_documents, s.failed_payments, s.open_disputes, s.deployment_states,
       s.differs_from_deployments
FROM revenue.dunning_suggestions s LEFT JOIN staging.tenants t ON t.tenant_id = s.tenant_id
ORDER BY s.as_of_date, t.slug;
